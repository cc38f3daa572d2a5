import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Session } from './client.js';
import { quoteIdentifier } from './identifiers.js';

/** Databases every server has; capture leaves them out. */
const SYSTEM_DATABASES = new Set(['information_schema', 'mysql', 'performance_schema', 'sys']);

/** The databases on the server, as the server names them. Hex on the wire, so no name can be garbled by the client's escaping. */
export async function listDatabases(session: Session): Promise<string[]> {
  const output = await session.query('SELECT HEX(SCHEMA_NAME) FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME');
  return output
    .split('\n')
    .filter((line) => line !== '')
    .map((hex) => Buffer.from(hex, 'hex').toString('utf8'));
}

export async function userDatabases(session: Session): Promise<string[]> {
  return (await listDatabases(session)).filter((name) => !SYSTEM_DATABASES.has(name));
}

export async function databaseExists(session: Session, name: string): Promise<boolean> {
  return (await listDatabases(session)).includes(name);
}

export async function createDatabase(session: Session, name: string): Promise<void> {
  await session.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
}

export async function dropDatabase(session: Session, name: string): Promise<void> {
  await session.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)}`);
}

/** The component's mysql-databases/*.sql files, in name order (byte order, as `ls` in the C locale). */
export async function schemaFiles(component: string): Promise<string[]> {
  const dir = path.join(component, 'mysql-databases');
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.name.endsWith('.sql') && (entry.isFile() || entry.isSymbolicLink()))
    .map((entry) => entry.name)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((name) => path.join(dir, name));
}

/**
 * Creates the database and runs the schema files into it, each through the
 * client on stdin (so DELIMITER blocks work), one client per file so an error
 * names the file and its line. When a file fails the database is dropped
 * again: the server is as it was and the next activate starts afresh.
 */
export async function createDatabaseWithSchema(session: Session, name: string, files: string[]): Promise<void> {
  await createDatabase(session, name);
  for (const file of files) {
    try {
      await session.runFile(file, { database: name });
    } catch (error) {
      await dropDatabase(session, name).catch((dropError: Error) => {
        session.ctx.log.error(`could not drop database ${quoteIdentifier(name)} again after the failure: ${dropError.message}`);
      });
      throw new Error(
        `${path.relative(session.ctx.component, file)} of component ${session.ctx.componentName} failed in database ${quoteIdentifier(name)}, ` +
          `so the database was dropped again: ${(error as Error).message}`,
      );
    }
  }
}
