import { startPostgresServer } from '../../bench/lib/postgres.mjs';
import type { PostgresServer } from '../../bench/lib/postgres.mjs';
import { tempDir } from './cli.js';

/*
 * A private PostgreSQL server for a test (bench/lib/postgres.mjs: initdb and
 * postgres in a temporary folder, 127.0.0.1, a free port, scram passwords),
 * stopped in t.teardown. Without Debian's postgresql package it fails with the
 * setup command.
 */

export type PostgresInstance = PostgresServer;

export async function startPostgres(t: { teardown(fn: () => unknown): void }, options: { password?: string } = {}): Promise<PostgresInstance> {
  const dir = await tempDir(t, 'dysnomia-postgres-');
  const server = await startPostgresServer(dir, options);
  t.teardown(() => server.stop());
  return server;
}
