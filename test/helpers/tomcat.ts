import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildTomcatServer } from '../../examples/tomcat-server/index.mjs';
import { dysnomia, tempDir } from './cli.js';
import type { CliResult } from './cli.js';
import { freePorts } from './ports.js';

/*
 * Private Tomcat 10 instances for tests, started the way a user would: the
 * examples/tomcat-server component is built into a temp folder and activated
 * through the CLI with --type wrapper. Each instance has its own CATALINA_BASE
 * and free ports, and is stopped (then killed if need be) in t.teardown.
 */

export const CATALINA_HOME = '/usr/share/tomcat10';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TomcatInstance {
  /** The instance's name, which is also its container's name. */
  name: string;
  httpPort: number;
  shutdownPort: number;
  catalinaBase: string;
  /** The wrapper component built from examples/tomcat-server. */
  component: string;
  /** etc/dysnomia/containers/NAME inside the component (type tomcat-webapplication). */
  containerFile: string;
  /** The component's etc/dysnomia/containers, for DYSNOMIA_CONTAINERS_PATH. */
  containersDir: string;
  /** The state folder the instance was activated with. */
  stateDir: string;
  /** http://127.0.0.1:PORT + path */
  url(urlPath?: string): string;
  /** Tomcat's pid, read from its pid file; undefined when not running. */
  pid(): Promise<number | undefined>;
  /** Deactivates the instance through the CLI (repeatable); returns the CLI's result. */
  deactivate(): Promise<CliResult>;
  /** Activates it again through the CLI; returns the CLI's result. */
  activate(): Promise<CliResult>;
}

export interface StartTomcatOptions {
  /** Instance name (default tomcat-1); two instances in one test need two names. */
  name?: string;
  /** DYSNOMIA_STATEDIR for the wrapper's activation (default: a folder in the instance's temp folder). */
  stateDir?: string;
}

/** Fails with the setup command when Tomcat 10 is not installed. */
export function assertTomcatInstalled(catalinaHome = CATALINA_HOME): void {
  if (!existsSync(path.join(catalinaHome, 'bin', 'catalina.sh'))) {
    throw new Error(`Tomcat 10 is not installed (no ${catalinaHome}/bin/catalina.sh): install it: apt-get install tomcat10`);
  }
}

/** Ports nobody listens on now: each is bound on 127.0.0.1 port 0, read, then all are closed. */
export { freePorts };

export interface HttpAnswer {
  status: number;
  body: string;
}

export async function httpGet(url: string): Promise<HttpAnswer> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
}

/**
 * Polls `url` until `accept` says yes (Tomcat deploys and undeploys in its
 * background thread, about once a second here; compiling a JSP on a machine
 * busy with another test file can take tens of seconds). Fails with what it
 * saw last.
 */
export async function waitForHttp(
  url: string,
  accept: (answer: HttpAnswer) => boolean,
  { timeoutMs = 90_000, what = 'the expected answer' }: { timeoutMs?: number; what?: string } = {},
): Promise<HttpAnswer> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const answer = await httpGet(url);
      if (accept(answer)) return answer;
      last = `status ${answer.status}: ${answer.body.slice(0, 200)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not give ${what} within ${timeoutMs / 1000}s; last: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a private Tomcat 10 for the test `t`: builds examples/tomcat-server
 * into a temp folder and activates it through the CLI (`--type wrapper`).
 * Stopped in t.teardown: deactivated through the CLI, its process group
 * killed if it is still there.
 */
export async function startTomcat(t: Teardown, options: StartTomcatOptions = {}): Promise<TomcatInstance> {
  assertTomcatInstalled();
  const name = options.name ?? 'tomcat-1';
  const dir = await tempDir(t, `dysnomia-${name}-`);
  const [httpPort, shutdownPort] = (await freePorts(2)) as [number, number];
  const catalinaBase = path.join(dir, 'base');
  const stateDir = options.stateDir ?? path.join(dir, 'state');
  const built = await buildTomcatServer(path.join(dir, name), { name, httpPort, shutdownPort, catalinaBase });
  // The wrapper container: its properties reach bin/wrapper as environment. A start
  // that hangs fails with Tomcat's log well before tap's 120 s per test file.
  const wrapperContainer = path.join(dir, 'wrapper');
  await writeFile(wrapperContainer, '# container for wrapper components\nTOMCAT_START_TIMEOUT=60\n');
  const env = { DYSNOMIA_STATEDIR: stateDir };
  const operation = (op: 'activate' | 'deactivate') =>
    dysnomia(['--operation', op, '--type', 'wrapper', '--component', built.component, '--container', wrapperContainer], { env });
  const pidFile = path.join(catalinaBase, 'tomcat.pid');
  const pid = async () => {
    const text = await readFile(pidFile, 'utf8').catch(() => '');
    return /^\d+\s*$/.test(text) ? Number(text) : undefined;
  };

  let lastPid: number | undefined;
  t.teardown(async () => {
    lastPid = (await pid()) ?? lastPid;
    await operation('deactivate');
    if (lastPid !== undefined && processExists(lastPid)) {
      // Tomcat runs in its own process group (setsid), so this reaches only it.
      try {
        process.kill(-lastPid, 'SIGKILL');
      } catch {
        // gone in the meantime
      }
    }
  });

  const started = await operation('activate');
  lastPid = await pid();
  if (started.code !== 0) {
    throw new Error(`Tomcat instance ${name} did not start (exit status ${started.code}):\n${started.stderr}${started.stdout}`);
  }
  return {
    name,
    httpPort,
    shutdownPort,
    catalinaBase,
    component: built.component,
    containerFile: built.containerFile,
    containersDir: path.dirname(built.containerFile),
    stateDir,
    url: (urlPath = '/') => `http://127.0.0.1:${httpPort}${urlPath}`,
    pid,
    deactivate: () => operation('deactivate'),
    activate: async () => {
      const result = await operation('activate');
      lastPid = (await pid()) ?? lastPid;
      return result;
    },
  };
}
