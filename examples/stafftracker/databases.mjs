// The StaffTracker databases as mysql-database components: each is
// mysql-databases/01-<name>.sql, copied from sql/<name>.sql (a table and a few rows).
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SQL_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sql');

/** The databases of the example, by name (the component's name is the database's name). */
export const DATABASES = ['rooms', 'staff', 'zipcodes'];

/** The table each database holds (what the web applications query). */
export const TABLES = { rooms: 'room', staff: 'staff', zipcodes: 'zipcode' };

export function databaseSqlFile(name) {
  if (!DATABASES.includes(name)) throw new TypeError(`unknown StaffTracker database ${JSON.stringify(name)} (databases: ${DATABASES.join(', ')})`);
  return path.join(SQL_DIR, `${name}.sql`);
}

/** Writes the mysql-database component `name` into out. Pure: it copies a file of the example. */
export async function buildDatabase(out, name) {
  const source = databaseSqlFile(name);
  const sqlFile = path.join(out, 'mysql-databases', `01-${name}.sql`);
  await mkdir(path.dirname(sqlFile), { recursive: true });
  await copyFile(source, sqlFile);
  await chmod(sqlFile, 0o644);
  return { component: out, database: name, sqlFile };
}
