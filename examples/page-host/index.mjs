// page-host: the builders and settings of a three-layer example.
//   layer 1 (servers): a Tomcat 10 server, a wrapper component (../tomcat-server) that
//                      provides the container "tomcat-pages" (type tomcat-webapplication);
//   layer 2 (hosts):   "pagehost", a web application in that Tomcat that is itself a
//                      container: it serves whatever pages are in its folder, and provides
//                      the container "pages" (type page, property pagesDir);
//   layer 3 (pages):   pages deployed into "pages" by dysnomia-plugin-page, a third-party
//                      plugin installed with npm in this folder.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// A local-time date, so the zip's DOS times are the same in every time zone.
const ENTRY_TIME = new Date(2000, 0, 1, 0, 0, 0);

/** The example's settings, from PAGEHOST_* environment variables (defaults for a machine of its own). */
export function settings(env = process.env) {
  const port = (name, fallback) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < -1 || value > 65535) throw new TypeError(`${name} must be a port number, not ${JSON.stringify(env[name])}`);
    return value;
  };
  return {
    httpPort: port('PAGEHOST_TOMCAT_PORT', 8080),
    shutdownPort: port('PAGEHOST_TOMCAT_SHUTDOWN_PORT', -1),
    catalinaBase: env.PAGEHOST_TOMCAT_BASE ?? '/var/lib/page-host/tomcat',
    javaOpts: env.PAGEHOST_TOMCAT_JAVA_OPTS,
    pagesDir: env.PAGEHOST_PAGES_DIR ?? '/var/lib/page-host/pages',
    title: env.PAGEHOST_TITLE ?? 'Pages',
  };
}

/** A digest of the files a builder reads, so a changed builder makes a new component. */
export function sourcesDigest(files) {
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file}\0`).update(readFileSync(path.join(HERE, file)));
  return hash.digest('hex');
}

const xmlText = (value) => String(value).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** index.jsp: GET ?page=NAME answers NAME.html from pagesDir under the host's title (404 when there is no such page). */
const INDEX_JSP = `<%@ page contentType="text/html; charset=UTF-8" import="java.nio.file.*" %><%
  String dir = application.getInitParameter("pagesDir");
  String title = application.getInitParameter("title");
  String name = request.getParameter("page");
  if (name == null || !name.matches("[A-Za-z0-9_-]+")) {
    response.setStatus(400);
    out.print(title + ": ask for ?page=NAME");
    return;
  }
  Path file = Paths.get(dir, name + ".html");
  if (!Files.isRegularFile(file)) {
    response.setStatus(404);
    out.print(title + ": no page " + name);
    return;
  }
  out.print("<title>" + title + "</title>\\n" + new String(Files.readAllBytes(file), "UTF-8"));
%>`;

function webXml({ title, pagesDir }) {
  const param = (name, value) => `  <context-param>\n    <param-name>${name}</param-name>\n    <param-value>${xmlText(value)}</param-value>\n  </context-param>\n`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="6.0">
  <display-name>pagehost</display-name>
${param('title', title)}${param('pagesDir', pagesDir)}  <welcome-file-list>
    <welcome-file>index.jsp</welcome-file>
  </welcome-file-list>
</web-app>
`;
}

/** Writes the page host component: webapps/pagehost.war (a zip made with fflate: no JDK needed). */
export async function buildPageHost(outDir, { title, pagesDir }) {
  const entries = {
    'WEB-INF/web.xml': [new TextEncoder().encode(webXml({ title, pagesDir })), { mtime: ENTRY_TIME }],
    'index.jsp': [new TextEncoder().encode(INDEX_JSP), { mtime: ENTRY_TIME }],
  };
  await mkdir(path.join(outDir, 'webapps'), { recursive: true });
  await writeFile(path.join(outDir, 'webapps/pagehost.war'), zipSync(entries, { level: 6 }));
}
