// What each kind of component is built from, as one digest. A build-function
// component's store key covers its name, its build function's text and its
// inputs, not the modules that function calls: putting this digest into the
// inputs makes a changed SQL file, JSP, builder or JDBC driver a new component.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MARIADB_DRIVER_JAR } from './webapps.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXAMPLES = path.dirname(HERE);

export const SOURCES = {
  mysql: [path.join(HERE, 'containers.mjs'), path.join(EXAMPLES, 'mariadb-server/index.mjs'), path.join(EXAMPLES, 'mariadb-server/wrapper.sh.mjs')],
  tomcat: [path.join(HERE, 'containers.mjs'), path.join(EXAMPLES, 'tomcat-server/index.mjs')],
  database: [path.join(HERE, 'databases.mjs'), path.join(HERE, 'sql/rooms.sql'), path.join(HERE, 'sql/staff.sql'), path.join(HERE, 'sql/zipcodes.sql')],
  webapp: [path.join(HERE, 'webapps.mjs'), path.join(HERE, 'web/index.jsp'), MARIADB_DRIVER_JAR],
};

/** sha256 over the files' names and bytes; a missing file counts as missing (the build itself then says what to install). */
export function sourcesDigest(kind) {
  const files = SOURCES[kind];
  if (files === undefined) throw new TypeError(`unknown kind ${JSON.stringify(kind)} (${Object.keys(SOURCES).join(', ')})`);
  const hash = createHash('sha256');
  for (const file of files) {
    let bytes;
    try {
      bytes = readFileSync(file);
    } catch {
      bytes = Buffer.from('(missing)');
    }
    hash.update(`${path.relative(EXAMPLES, file)}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest('hex');
}
