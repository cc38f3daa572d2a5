import path from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { RUNTIME_ROOT_FILE } from './runtime.js';
import type { SshConnection } from './ssh-connection.js';
import type { TargetPlan, TargetProbe } from './bootstrap.js';

const call = <T>(fn: (callback: (error: Error | null | undefined, value: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));

/** SFTP's "no such file" (status 2): an answer, not a failure of the probe. */
const isMissing = (error: unknown) => (error as { code?: unknown }).code === 2;

async function exists(sftp: SFTPWrapper, file: string, directory: boolean): Promise<boolean> {
  try {
    const stats = await call<import('ssh2').Stats>((cb) => sftp.lstat(file, cb));
    return directory ? stats.isDirectory() : stats.isFile();
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

async function readText(sftp: SFTPWrapper, file: string): Promise<string | undefined> {
  try {
    return (await call<Buffer>((cb) => sftp.readFile(file, cb))).toString('utf8');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

async function readLink(sftp: SFTPWrapper, file: string): Promise<string | undefined> {
  try {
    return await call<string>((cb) => sftp.readlink(file, cb));
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/**
 * The probe of bootstrap.ts, answered over SFTP when the target's state
 * folder is known: what the store lacks of a closure, the profile's current
 * generation and packages, whether the runtime is there. With sshd's
 * internal-sftp no shell and no Node start on the target, which is most of a
 * no-op deploy's time. Without the runtime there, it says which of the
 * runtime's packages the store lacks (the bootstrap checks Node itself).
 * Undefined when the GC root does not name the runtime first (the Node
 * probe puts it there); a failure of SFTP itself rejects, and the caller
 * falls back to the Node probe.
 */
export async function probeOverSftp(
  connection: SshConnection,
  stateDir: string,
  runtime: { entry: string; packages: string[] },
  planRequest: { profile: string; closure: string[] } | undefined,
  keepRuntime: boolean,
): Promise<TargetProbe | undefined> {
  const sftp = await connection.sftp();
  try {
    const store = path.posix.join(stateDir, 'store');
    const has = async (entry: string) => (await exists(sftp, path.posix.join(store, entry), true)) && (await exists(sftp, path.posix.join(store, '.meta', `${entry}.json`), false));
    const runtimeEntry = runtime.entry;
    const plan = async (): Promise<TargetPlan | undefined> => {
      if (!planRequest) return undefined;
      const present = await Promise.all(planRequest.closure.map(has));
      const [current, record, lockText] = await Promise.all([
        currentProfile(sftp, stateDir, planRequest.profile),
        readText(sftp, path.posix.join(stateDir, 'activations', `${planRequest.profile}.json`)),
        readText(sftp, path.posix.join(stateDir, 'locks', `profile-${planRequest.profile}.json`)),
      ]);
      return { missing: planRequest.closure.filter((_, i) => !present[i]), current, activated: recordedMappings(record), lock: lockText === undefined ? null : lockHolderOf(lockText) };
    };
    if (!(await has(runtimeEntry))) {
      const present = await Promise.all(runtime.packages.map(has));
      const answer = await plan();
      return { node: '', stateDir, hasRuntime: false, missingPackages: runtime.packages.filter((_, i) => !present[i]), ...(answer ? { plan: answer } : {}) };
    }
    if (keepRuntime) {
      // The Node probe or the bootstrap put it first in the GC root before; otherwise this probe steps aside and the Node probe does.
      const text = await readText(sftp, path.posix.join(stateDir, RUNTIME_ROOT_FILE));
      if (text === undefined || firstKept(text) !== runtimeEntry) return undefined;
    }
    const answer = await plan();
    return { node: '', stateDir, hasRuntime: true, ...(answer ? { plan: answer } : {}) };
  } finally {
    sftp.end();
  }
}

/** The mappings a target's activation record holds (none when it has no record). */
function recordedMappings(text: string | undefined): TargetPlan['activated'] {
  if (text === undefined) return [];
  const mappings = (JSON.parse(text) as { mappings?: unknown }).mappings;
  return Array.isArray(mappings) ? (mappings as TargetPlan['activated']) : [];
}

/** A lock file's holder; one cut short still means "locked", by nobody known. */
function lockHolderOf(text: string): NonNullable<TargetPlan['lock']> {
  try {
    return JSON.parse(text) as NonNullable<TargetPlan['lock']>;
  } catch {
    return { user: 'unknown', host: 'unknown', pid: 0, since: 'unknown' };
  }
}

function firstKept(text: string): unknown {
  try {
    const paths = (JSON.parse(text) as { storePaths?: unknown }).storePaths;
    return Array.isArray(paths) ? paths[0] : undefined;
  } catch {
    return undefined;
  }
}

async function currentProfile(sftp: SFTPWrapper, stateDir: string, profile: string): Promise<TargetPlan['current']> {
  const profiles = path.posix.join(stateDir, 'profiles');
  const link = await readLink(sftp, path.posix.join(profiles, profile));
  if (link === undefined) return null;
  const number = /^(.*)-(\d+)-link$/.exec(path.posix.basename(link));
  if (!number || number[1] !== profile) return null;
  const generation = await readLink(sftp, path.posix.join(profiles, path.posix.basename(link)));
  if (generation === undefined) return null;
  const entry = path.posix.basename(generation);
  const meta = await readText(sftp, path.posix.join(stateDir, 'store', '.meta', `${entry}.json`));
  if (meta === undefined) return null;
  const parsed = JSON.parse(meta) as { entry?: string; references?: unknown };
  return parsed.entry === entry && Array.isArray(parsed.references) ? { generation: Number(number[2]), packages: parsed.references as string[] } : null;
}
