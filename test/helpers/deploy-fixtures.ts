import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { BIN_DIR, NO_REGISTRY_ENV, REPO_ROOT, tempDir } from './cli.js';
import { startSshd } from './sshd.js';
import type { SshdInstance } from './sshd.js';

const run = promisify(execFile);

export interface DeployEventLine {
  v: number;
  event: string;
  target?: string;
  [key: string]: unknown;
}

export function parseEvents(stdout: string): DeployEventLine[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as DeployEventLine);
}

/** Why a deploy failed, for an assertion's message: its stderr and, from --json output, what the modules printed on the targets. */
export function failureText(result: { stdout: string; stderr: string }): string {
  const lines = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as DeployEventLine)
    .filter((e) => e.event === 'output')
    .map((e) => `${e.target}: ${e.service}: ${e.line}`);
  return [result.stderr, ...lines].join('\n');
}

/** An infrastructure target for one test sshd, with its own state folder on the "machine". */
export function sshTarget(host: SshdInstance, knownHosts: string, stateDir: string): Record<string, unknown> {
  return {
    properties: {
      hostname: host.host,
      sshPort: host.port,
      sshUser: host.user,
      sshKey: host.clientKey.privateKey,
      sshKnownHosts: knownHosts,
      stateDir,
      nodePath: process.execPath,
    },
  };
}

/** Runs a command on a test host with OpenSSH's own client (strict host key checking). */
export async function sshRun(host: SshdInstance, knownHosts: string, command: string): Promise<string> {
  const { stdout } = await run('ssh', [
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-i', host.clientKey.privateKey,
    '-p', String(host.port),
    `${host.user}@${host.host}`,
    command,
  ]);
  return stdout;
}

export async function writeProgram(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  await chmod(file, 0o755);
}

/** A package folder with one program bin/NAME that prints `output`. */
export async function packageFolder(dir: string, name: string, output: string): Promise<string> {
  await writeProgram(path.join(dir, 'bin', name), `#!/bin/sh\necho '${output}'\n`);
  return dir;
}

/** `npm pack` of a tiny package with a bin, as a local tarball. */
export async function npmTarball(dir: string, name: string, output: string): Promise<string> {
  const source = path.join(dir, `${name}-src`);
  await mkdir(source, { recursive: true });
  await writeFile(path.join(source, 'package.json'), JSON.stringify({ name, version: '1.0.0', bin: { [name]: 'cli.js' } }));
  await writeProgram(path.join(source, 'cli.js'), `#!/usr/bin/env node\nconsole.log(${JSON.stringify(output)});\n`);
  const { stdout } = await run('npm', ['pack', source, '--pack-destination', dir, '--json'], { cwd: dir });
  return path.join(dir, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
}

/** The dysnomia CLI as a child whose stdout lines are handed to `onLine` as they come. */
export function dysnomiaStreaming(
  args: string[],
  env: Record<string, string>,
  onLine: (line: string) => void,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...NO_REGISTRY_ENV, ...env };
  const child = spawn('/usr/bin/env', ['-i', ...Object.entries(base).map(([k, v]) => `${k}=${v}`), process.execPath, path.join(BIN_DIR, 'dysnomia.js'), ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    pending += chunk.toString();
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      onLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

/**
 * Two simulated machines for a test file: sshd instances on 127.0.0.1 sharing
 * one client key and known_hosts, each with its own state folder, and a
 * coordinator state folder (`env`) for the dysnomia commands.
 */
export async function twoMachines(t: Parameters<typeof tempDir>[0], prefix: string) {
  const dir = await tempDir(t, prefix);
  const env = { DYSNOMIA_STATEDIR: path.join(dir, 'coordinator') };
  const knownHosts = path.join(dir, 'known_hosts');
  const test1 = await startSshd(t, { knownHosts });
  const test2 = await startSshd(t, { knownHosts, clientKey: test1.clientKey });
  return { dir, env, knownHosts, test1, test2, state1: path.join(dir, 'machines/test1/state'), state2: path.join(dir, 'machines/test2/state') };
}
