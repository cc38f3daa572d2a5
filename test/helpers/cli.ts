import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN_DIR = path.join(REPO_ROOT, 'packages/engine/bin');

/**
 * What every command a test runs gets for npm: no registry (an address where
 * nothing listens, no retries, offline). A test must never reach one: a
 * deploy that asked npm for metadata hung the whole suite on a fresh machine.
 */
export const NO_REGISTRY_ENV = {
  npm_config_registry: 'http://127.0.0.1:9/',
  npm_config_offline: 'true',
  npm_config_fetch_retries: '0',
  npm_config_update_notifier: 'false',
};

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one of the engine's built commands (dysnomia, dysnomia-containers,
 * dysnomia-snapshots) as a user would, with a controlled environment: only
 * PATH and HOME from the test's own, plus `env`.
 */
export function runCommand(
  program: 'dysnomia' | 'dysnomia-containers' | 'dysnomia-snapshots',
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...NO_REGISTRY_ENV, ...options.env };
  // `env -i` drops the variables tap's process tracking adds to every child, so the command sees only `env`.
  const clean = ['-i', ...Object.entries(env).map(([key, value]) => `${key}=${value}`)];
  return new Promise((resolve) => {
    const child = execFile(
      '/usr/bin/env',
      [...clean, process.execPath, path.join(BIN_DIR, `${program}.js`), ...args],
      { cwd: options.cwd ?? REPO_ROOT, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

export const dysnomia = (args: string[], options?: Parameters<typeof runCommand>[2]) => runCommand('dysnomia', args, options);

/** A temporary folder removed when the test ends (t.teardown). */
export async function tempDir(t: { teardown(fn: () => unknown): void }, prefix = 'dysnomia-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
