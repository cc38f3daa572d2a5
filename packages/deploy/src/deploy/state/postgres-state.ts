import type { Client } from 'pg';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';
import { describeHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import type { LockHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import type { GenerationSelector } from '@dysnomia/engine/internal/profiles/profiles.js';
import type { Deployment } from '../deployment.js';
import { lockCoordinator } from '../locking.js';
import { generationsToDelete, manifestOf, noSuchGeneration } from '../manifests.js';
import type { Manifest } from '../manifests.js';
import type { DeploymentRecords, ProfileLockOptions, StateBackend } from './state-backend.js';

/*
 * Deployment records, generations and the coordinator's profile locks in
 * PostgreSQL, so several coordinators (a team, a CI runner) deploy the same
 * system safely. The lock is a session-level advisory lock held by this
 * process's connection: a coordinator that dies drops the connection and
 * PostgreSQL releases the lock at once, so it is never left stale. The
 * password comes from PGPASSFILE, ~/.pgpass or PGPASSWORD (node-postgres
 * reads them); the URL in the config never holds one.
 */

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS dysnomia_deployments (
     profile text NOT NULL,
     generation integer NOT NULL,
     created timestamptz NOT NULL,
     manifest json NOT NULL,
     PRIMARY KEY (profile, generation))`,
  `CREATE TABLE IF NOT EXISTS dysnomia_current (
     profile text PRIMARY KEY,
     generation integer NOT NULL,
     FOREIGN KEY (profile, generation) REFERENCES dysnomia_deployments (profile, generation))`,
  `CREATE TABLE IF NOT EXISTS dysnomia_lock_holders (
     profile text PRIMARY KEY,
     holder json NOT NULL)`,
];

/** The advisory-lock key of a profile: 64 bits of the profile's name, in a namespace of our own. */
const LOCK_KEY = `hashtextextended('dysnomia-profile:' || $1, 0)`;
/** Serializes the schema's creation between coordinators starting at once. */
const SCHEMA_LOCK = `pg_advisory_xact_lock(hashtextextended('dysnomia-schema', 0))`;
const CONNECT_TIMEOUT_MS = 20_000;

/** USER@HOST:PORT/DATABASE of a URL: what messages say; never a password. */
export function describePostgresUrl(url: string): string {
  const parsed = new URL(url);
  const user = parsed.username ? `${decodeURIComponent(parsed.username)}@` : '';
  return `${user}${parsed.hostname || 'localhost'}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`;
}

type PgPass = (connection: ConnectionParameters, callback: (password: string | undefined) => void) => void;
interface ConnectionParameters {
  host: string;
  port: number | string;
  database: string;
  user: string;
}

/** PGPASSWORD, else the matching line of PGPASSFILE or ~/.pgpass (mode 0600 only, as libpq reads it); undefined when there is none. */
async function passwordFor(connection: ConnectionParameters): Promise<string | undefined> {
  if (process.env.PGPASSWORD !== undefined) return process.env.PGPASSWORD;
  const { default: pgpass } = (await import('pgpass' as string)) as { default: PgPass };
  return new Promise((resolve) => pgpass(connection, resolve));
}

function stateError(description: string, error: unknown): DysnomiaError {
  const message = (error as Error).message ?? String(error);
  // node-postgres says this when no password was found anywhere.
  const reason = /client password must be a string/.test(message) ? 'no password for this user: put it in PGPASSFILE, ~/.pgpass or PGPASSWORD' : message;
  return new DysnomiaError('ERR_DYSNOMIA_STATE', `the PostgreSQL state at ${description}: ${reason}`, { exitCode: EXIT_OPERATION_FAILED, cause: error });
}

export class PostgresState implements StateBackend {
  readonly kind = 'postgres';
  readonly description: string;
  private connection: Promise<Client> | undefined;

  /** `stateDir`: this machine's state folder, whose own lock of the profile is taken too (its store's collector respects it). */
  constructor(
    private readonly url: string,
    private readonly stateDir: string,
  ) {
    this.description = describePostgresUrl(url);
  }

  /** Loading the client (~60 ms) and connecting overlap the models' loading and the builds. */
  warmUp(): void {
    this.client().catch(() => undefined);
  }

  /** One connection per coordinator process: it runs the queries and holds the locks. */
  client(): Promise<Client> {
    this.connection ??= (async () => {
      const [{ default: pg }, { parseIntoClientConfig }] = await Promise.all([import('pg'), import('pg-connection-string')]);
      // Not connectionString: node-postgres would let the URL's (absent) password override the function.
      // It calls the function with its connection parameters (its types leave them out).
      const settings = { ...parseIntoClientConfig(this.url), password: passwordFor as unknown as () => Promise<string> };
      const client = new pg.Client({ ...settings, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'dysnomia' });
      // A connection lost later fails the next query; an 'error' event without a listener would end the process.
      client.on('error', () => undefined);
      try {
        await client.connect();
        // One round trip: the simple query protocol runs the statements as one transaction.
        await client.query(['BEGIN', `SELECT ${SCHEMA_LOCK}`, ...SCHEMA, 'COMMIT'].join(';\n'));
      } catch (error) {
        await client.end().catch(() => undefined);
        throw stateError(this.description, error);
      }
      return client;
    })();
    return this.connection;
  }

  async query<Row>(text: string, values: unknown[] = []): Promise<Row[]> {
    const client = await this.client();
    try {
      return (await client.query(text, values)).rows as Row[];
    } catch (error) {
      throw stateError(this.description, error);
    }
  }

  /** Runs `work` in one transaction: all of it is recorded, or none. */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    await this.query('BEGIN');
    try {
      const result = await work();
      await this.query('COMMIT');
      return result;
    } catch (error) {
      await this.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  records(profile: string): PostgresRecords {
    return new PostgresRecords(this, profile);
  }

  async lockProfile(profile: string, options: ProfileLockOptions, holder: LockHolder): Promise<() => Promise<void>> {
    const releaseShared = await this.lockShared(profile, holder);
    let releaseLocal: () => Promise<void>;
    try {
      releaseLocal = await lockCoordinator(this.stateDir, profile, options, holder);
    } catch (error) {
      await releaseShared();
      throw error;
    }
    return async () => {
      await releaseLocal();
      await releaseShared();
    };
  }

  private async lockShared(profile: string, holder: LockHolder): Promise<() => Promise<void>> {
    const [row] = await this.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS locked`, [profile]);
    if (!row?.locked) {
      const [held] = await this.query<{ holder: LockHolder }>('SELECT holder FROM dysnomia_lock_holders WHERE profile = $1', [profile]);
      throw new DysnomiaError(
        'ERR_DYSNOMIA_LOCKED',
        `profile "${profile}" is locked in the PostgreSQL state at ${this.description} by ${held ? describeHolder(held.holder) : 'another coordinator'}; another deployment is running`,
        { exitCode: EXIT_OPERATION_FAILED },
      );
    }
    // Who holds it, for the message another coordinator gets; a dead holder's row is simply overwritten.
    await this.query('INSERT INTO dysnomia_lock_holders (profile, holder) VALUES ($1, $2) ON CONFLICT (profile) DO UPDATE SET holder = EXCLUDED.holder', [profile, JSON.stringify(holder)]);
    return async () => {
      await this.query('DELETE FROM dysnomia_lock_holders WHERE profile = $1', [profile]).catch(() => undefined);
      await this.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`, [profile]).catch(() => undefined);
    };
  }

  async profiles(): Promise<string[]> {
    return (await this.query<{ profile: string }>('SELECT DISTINCT profile FROM dysnomia_deployments ORDER BY profile')).map((r) => r.profile);
  }

  async storePaths(): Promise<string[]> {
    const rows = await this.query<{ path: string }>("SELECT DISTINCT json_array_elements_text(manifest -> 'storePaths') AS path FROM dysnomia_deployments");
    return rows.map((r) => r.path).sort();
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await (await connection.catch(() => undefined))?.end().catch(() => undefined);
  }
}

class PostgresRecords implements DeploymentRecords {
  constructor(
    private readonly state: PostgresState,
    readonly profile: string,
  ) {}

  where(generation: number): string {
    return `postgres://${this.state.description}#${this.profile}/${generation}`;
  }

  async generations(): Promise<number[]> {
    return (await this.state.query<{ generation: number }>('SELECT generation FROM dysnomia_deployments WHERE profile = $1 ORDER BY generation', [this.profile])).map((r) => r.generation);
  }

  async currentGeneration(): Promise<number | undefined> {
    const [row] = await this.state.query<{ generation: number }>('SELECT generation FROM dysnomia_current WHERE profile = $1', [this.profile]);
    return row?.generation;
  }

  async read(generation: number): Promise<Manifest> {
    const [row] = await this.state.query<{ manifest: Manifest }>('SELECT manifest FROM dysnomia_deployments WHERE profile = $1 AND generation = $2', [this.profile, generation]);
    if (!row) throw noSuchGeneration(this.profile, generation, await this.generations());
    return row.manifest;
  }

  async current(): Promise<Manifest | undefined> {
    const [row] = await this.state.query<{ manifest: Manifest }>(
      'SELECT d.manifest FROM dysnomia_current c JOIN dysnomia_deployments d USING (profile, generation) WHERE c.profile = $1',
      [this.profile],
    );
    return row?.manifest;
  }

  /** The new generation and its being current are one transaction. */
  recordCurrent(deployment: Deployment): Promise<Manifest> {
    return this.state.transaction(async () => {
      const [row] = await this.state.query<{ next: number }>('SELECT COALESCE(MAX(generation), 0) + 1 AS next FROM dysnomia_deployments WHERE profile = $1', [this.profile]);
      const manifest = manifestOf(deployment, row!.next);
      await this.insert(manifest);
      await this.makeCurrent(manifest.generation);
      return manifest;
    });
  }

  /** Writes a manifest as it is (its generation and time kept): recording, and `dysnomia state migrate`. */
  async insert(manifest: Manifest): Promise<void> {
    await this.state.query('INSERT INTO dysnomia_deployments (profile, generation, created, manifest) VALUES ($1, $2, $3, $4)', [
      this.profile,
      manifest.generation,
      manifest.created,
      JSON.stringify(manifest),
    ]);
  }

  async makeCurrent(generation: number): Promise<void> {
    await this.state.query('INSERT INTO dysnomia_current (profile, generation) VALUES ($1, $2) ON CONFLICT (profile) DO UPDATE SET generation = EXCLUDED.generation', [this.profile, generation]);
  }

  setCurrent(generation: number): Promise<void> {
    return this.makeCurrent(generation);
  }

  async delete(which: GenerationSelector): Promise<number[]> {
    return this.state.transaction(async () => {
      const rows = await this.state.query<{ generation: number; created: Date }>('SELECT generation, created FROM dysnomia_deployments WHERE profile = $1 ORDER BY generation FOR UPDATE', [this.profile]);
      const created = new Map(rows.map((r) => [r.generation, r.created.getTime()]));
      const chosen = await generationsToDelete(this.profile, which, [...created.keys()], await this.currentGeneration(), async (g) => created.get(g)!);
      if (chosen.length > 0) await this.state.query('DELETE FROM dysnomia_deployments WHERE profile = $1 AND generation = ANY($2::int[])', [this.profile, chosen]);
      return chosen;
    });
  }
}

export type { PostgresRecords };
