#!/usr/bin/env node
// Writes the hello-webapp component: node build.mjs [--greeting TEXT] [--war-name NAME] OUTDIR
import { parseArgs } from 'node:util';
import path from 'node:path';
import { buildHelloWebapp } from './index.mjs';

const USAGE = `Usage: node build.mjs [--greeting TEXT] [--war-name NAME] OUTDIR

Writes a tomcat-webapplication component into OUTDIR: webapps/NAME.war
(default hello.war) with index.html and hello.jsp, which prints TEXT.
`;

try {
  const { values, positionals } = parseArgs({
    options: { greeting: { type: 'string' }, 'war-name': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (positionals.length !== 1) throw new TypeError('give exactly one OUTDIR');
  const built = await buildHelloWebapp(path.resolve(positionals[0]), {
    ...(values.greeting === undefined ? {} : { greeting: values.greeting }),
    ...(values['war-name'] === undefined ? {} : { warName: values['war-name'] }),
  });
  process.stdout.write(`${built.war}\n`);
} catch (error) {
  process.stderr.write(`build.mjs: ${error.message}\n${USAGE}`);
  process.exit(2);
}
