#!/usr/bin/env node
// Writes a Tomcat server component: node build.mjs --name NAME --http-port PORT --catalina-base DIR OUTDIR
import { parseArgs } from 'node:util';
import path from 'node:path';
import { buildTomcatServer } from './index.mjs';

const USAGE = `Usage: node build.mjs --name NAME --http-port PORT --catalina-base DIR [OPTION]... OUTDIR

Writes a Tomcat 10 server wrapper component into OUTDIR: bin/wrapper,
conf/server.xml and etc/dysnomia/containers/NAME (type tomcat-webapplication).

  --name NAME            instance name, also the container's name
  --http-port PORT       HTTP connector port
  --shutdown-port PORT   shutdown port (default -1: disabled; the wrapper stops Tomcat with SIGTERM)
  --catalina-base DIR    the instance's CATALINA_BASE (created on first activation)
  --catalina-home DIR    Tomcat's installation (default /usr/share/tomcat10)
  --address ADDRESS      address the connector listens on (default: 127.0.0.1;
                         0.0.0.0 for every interface)
  --java-opts OPTS       JVM options (default: small heap, fast start)
`;

function port(label, value) {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new TypeError(`${label} must be a number, got "${value}"`);
  return Number(value);
}

try {
  const { values, positionals } = parseArgs({
    options: {
      name: { type: 'string' },
      'http-port': { type: 'string' },
      'shutdown-port': { type: 'string' },
      'catalina-base': { type: 'string' },
      'catalina-home': { type: 'string' },
      address: { type: 'string' },
      'java-opts': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (positionals.length !== 1) throw new TypeError('give exactly one OUTDIR');
  const params = {
    name: values.name,
    httpPort: port('--http-port', values['http-port']),
    catalinaBase: values['catalina-base'] && path.resolve(values['catalina-base']),
    ...(values['shutdown-port'] === undefined ? {} : { shutdownPort: port('--shutdown-port', values['shutdown-port']) }),
    ...(values['catalina-home'] === undefined ? {} : { catalinaHome: path.resolve(values['catalina-home']) }),
    ...(values.address === undefined ? {} : { address: values.address }),
    ...(values['java-opts'] === undefined ? {} : { javaOpts: values['java-opts'] }),
  };
  const built = await buildTomcatServer(path.resolve(positionals[0]), params);
  process.stdout.write(`${built.component}\ncontainer: ${built.containerFile}\n`);
} catch (error) {
  process.stderr.write(`build.mjs: ${error.message}\n${USAGE}`);
  process.exit(2);
}
