// hello-webapp: a tomcat-webapplication component whose webapps/<warName>.war
// holds a static page (index.html) and a JSP (hello.jsp). The WAR is a zip made
// with fflate, so building needs no JDK (Debian's tomcat10 brings a JRE only).
// Pure: the same parameters always give the same bytes (sorted entries, fixed times).
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';

export const WEB_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'web');

const WAR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
// A local-time date, so the DOS times in the zip are the same in every time zone.
const ENTRY_TIME = new Date(2000, 0, 1, 0, 0, 0);

const xmlText = (value) => String(value).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

function webXml(greeting) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="https://jakarta.ee/xml/ns/jakartaee https://jakarta.ee/xml/ns/jakartaee/web-app_6_0.xsd"
         version="6.0">
  <display-name>hello-webapp</display-name>
  <context-param>
    <param-name>greeting</param-name>
    <param-value>${xmlText(greeting)}</param-value>
  </context-param>
  <welcome-file-list>
    <welcome-file>index.html</welcome-file>
  </welcome-file-list>
</web-app>
`;
}

async function filesUnder(dir, prefix = '') {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  const files = [];
  for (const entry of entries) {
    const relative = prefix + entry.name;
    if (entry.isDirectory()) files.push(...(await filesUnder(path.join(dir, entry.name), `${relative}/`)));
    else if (entry.isFile()) files.push(relative);
  }
  return files;
}

export function helloWebappParams(params = {}) {
  const { greeting = 'Hello', warName = 'hello' } = params;
  if (typeof greeting !== 'string' || greeting.includes('\0')) throw new TypeError(`greeting must be a string, got ${JSON.stringify(greeting)}`);
  if (typeof warName !== 'string' || !WAR_NAME.test(warName)) {
    throw new TypeError(`warName must be letters, digits, ".", "_" or "-" (it names the WAR and the context path), got ${JSON.stringify(warName)}`);
  }
  return { greeting, warName };
}

/** The WAR's bytes: every file under web/, plus WEB-INF/web.xml carrying the greeting. */
export async function helloWar(params = {}) {
  const { greeting } = helloWebappParams(params);
  const entries = {};
  for (const relative of await filesUnder(WEB_DIR)) {
    entries[relative] = [new Uint8Array(await readFile(path.join(WEB_DIR, relative))), { mtime: ENTRY_TIME }];
  }
  entries['WEB-INF/web.xml'] = [new TextEncoder().encode(webXml(greeting)), { mtime: ENTRY_TIME }];
  const sorted = Object.fromEntries(Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : 1)));
  return zipSync(sorted, { level: 6 });
}

/** Writes the component into outDir: webapps/<warName>.war. Returns the WAR's path. */
export async function buildHelloWebapp(outDir, params = {}) {
  const { warName } = helloWebappParams(params);
  const war = path.join(outDir, 'webapps', `${warName}.war`);
  await mkdir(path.dirname(war), { recursive: true });
  await writeFile(war, await helloWar(params));
  return { component: outDir, war, contextPath: `/${warName}` };
}
