import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { shellQuote } from '../shell-quote.js';
import { parseEntryName } from '../store/entry-name.js';
import { RUNTIME_ENGINE_BIN } from './runtime.js';
import { channelOutcome } from './ssh-connection.js';
import type { SshConnection } from './ssh-connection.js';

/** A target's answer to "what do you lack, and what is your profile now": all a no-op deploy needs. */
export interface TargetPlan {
  missing: string[];
  current: { generation: number; packages: string[] } | null;
}

/** What a target says about itself before anything is sent. */
export interface TargetProbe {
  node: string;
  stateDir: string;
  /** Whether the runtime entry is already in the target's store. */
  hasRuntime: boolean;
  /** With a plan request and the runtime there: the plan, from the same process (one round trip for a no-op). */
  plan?: TargetPlan;
}

const MINIMUM_NODE = [20, 19];

/**
 * Run with `node -e` on the target (nothing of ours is there yet): Node's
 * version, the state folder (DYSNOMIA_STATEDIR as given, else Dysnomia's
 * default for the user), and whether the runtime entry is in its store. When
 * it is and the run installs (argv[2] is "keep"), a deployment manifest naming
 * it keeps `dysnomia store --gc` from removing the engine (written only when it
 * differs); a dry run or a listing writes nothing.
 */
const PROBE = `
const fs = require('fs'), os = require('os'), path = require('path');
function keep(file, text) {
  try { if (fs.readFileSync(file, 'utf8') === text) return; } catch {}
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file + '.tmp', text);
  fs.renameSync(file + '.tmp', file);
}
(async () => {
  const stateDir = process.env.DYSNOMIA_STATEDIR || (process.getuid && process.getuid() === 0 ? '/var/state/dysnomia' : path.join(os.homedir(), '.dysnomia'));
  const entry = process.argv[1];
  const keepRuntime = process.argv[2] === 'keep';
  const store = path.join(stateDir, 'store');
  const hasRuntime = fs.existsSync(path.join(store, entry)) && fs.existsSync(path.join(store, '.meta', entry + '.json'));
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  let plan;
  if (hasRuntime) {
    if (keepRuntime) keep(path.join(stateDir, 'deployments', 'dysnomia-runtime.json'), JSON.stringify({ storePaths: [entry] }));
    if (input !== '') {
      const request = JSON.parse(input);
      // What Store.missing and Profiles.packages answer, read directly: importing the engine's
      // modules here would cost each target more than the rest of the probe (a no-op deploy is this call).
      const meta = (e) => {
        try {
          const m = JSON.parse(fs.readFileSync(path.join(store, '.meta', e + '.json'), 'utf8'));
          return m.entry === e && Array.isArray(m.references) ? m : undefined;
        } catch { return undefined; }
      };
      const has = (e) => { try { return fs.lstatSync(path.join(store, e)).isDirectory() && meta(e) !== undefined; } catch { return false; } };
      const profiles = path.join(stateDir, 'profiles');
      let current = null;
      try {
        const link = path.basename(fs.readlinkSync(path.join(profiles, request.profile)));
        const number = /^(.*)-(\\d+)-link$/.exec(link);
        const generation = number && number[1] === request.profile ? meta(path.basename(fs.readlinkSync(path.join(profiles, link)))) : undefined;
        if (generation) current = { generation: Number(number[2]), packages: generation.references };
      } catch {}
      plan = { missing: request.closure.filter((e) => !has(e)), current };
    }
  }
  process.stdout.write(JSON.stringify({ node: process.versions.node, stateDir, hasRuntime, plan }));
})().catch((error) => { process.stderr.write(String((error && error.stack) || error)); process.exit(1); });
`;

/**
 * A dependency-free receiver for the very first transfer: it reads records
 * (a JSON header line, then `size` bytes for a file) from stdin into a new
 * folder under the target's temp folder and prints that folder once the end
 * record arrived. Paths cannot leave the folder; a cut-off stream removes it.
 */
const RECEIVER = `
const fs = require('fs'), os = require('os'), path = require('path');
let root;
try { root = fs.mkdtempSync(path.join(os.tmpdir(), 'dysnomia-bootstrap-')); }
catch (error) { process.stderr.write('bootstrap receiver: cannot make a folder in the temp folder ' + os.tmpdir() + ': ' + error.message + '\\n'); process.exit(1); }
let buffer = Buffer.alloc(0), current = null, remaining = 0, done = false;
const fail = (message) => { fs.rmSync(root, { recursive: true, force: true }); process.stderr.write('bootstrap receiver: ' + message + '\\n'); process.exit(1); };
const inside = (relative) => {
  const target = path.resolve(root, relative);
  if (path.isAbsolute(relative) || !target.startsWith(root + path.sep)) fail('path leaves the folder: ' + relative);
  return target;
};
const record = (header) => {
  if (header.end) { done = true; return; }
  const target = inside(header.p);
  if (header.t === 'd') fs.mkdirSync(target, { recursive: true, mode: 0o755 });
  else if (header.t === 'l') fs.symlinkSync(header.l, target);
  else if (header.t === 'f') { current = fs.openSync(target, 'w', (header.m & 0o777) | 0o600); remaining = header.s; if (remaining === 0) { fs.closeSync(current); current = null; } }
  else fail('unknown record ' + JSON.stringify(header));
};
process.stdin.on('data', (chunk) => {
  buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
  while (buffer.length > 0 && !done) {
    if (current !== null) {
      const part = buffer.subarray(0, remaining);
      fs.writeSync(current, part);
      remaining -= part.length;
      buffer = buffer.subarray(part.length);
      if (remaining === 0) { fs.closeSync(current); current = null; }
      continue;
    }
    const newline = buffer.indexOf(10);
    if (newline < 0) break;
    const line = buffer.subarray(0, newline).toString();
    buffer = buffer.subarray(newline + 1);
    let header;
    try { header = JSON.parse(line); } catch { fail('bad record header'); }
    record(header);
  }
});
process.stdin.on('end', () => { if (!done || current !== null) fail('the stream ended early'); process.stdout.write(root); });
`;

export function nodeCommand(nodePath: string, stateDir: string | undefined, args: string[]): string {
  const env = stateDir === undefined ? '' : `DYSNOMIA_STATEDIR=${shellQuote(stateDir)} `;
  return `${env}${shellQuote(nodePath)} ${args.map(shellQuote).join(' ')}`;
}

export async function probeTarget(
  connection: SshConnection,
  nodePath: string,
  stateDir: string | undefined,
  runtimeEntry: string,
  planRequest?: { profile: string; closure: string[] },
  keepRuntime = true,
): Promise<TargetProbe> {
  const target = connection.settings.target;
  const args = ['-e', PROBE, runtimeEntry, keepRuntime ? 'keep' : 'read-only'];
  const result = await connection.exec(nodeCommand(nodePath, stateDir, args), planRequest ? JSON.stringify(planRequest) : '');
  if (result.code === 127 || /not found/.test(result.stderr) && result.code !== 0) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${target}": Node.js is not there ("${nodePath}" not found); install Node.js ${MINIMUM_NODE.join('.')}+ on it, or set the target property nodePath`, { exitCode: EXIT_OPERATION_FAILED });
  }
  if (result.code !== 0) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${target}": probing with ${nodePath} failed (status ${result.code}): ${result.stderr.trim()}`, { exitCode: EXIT_OPERATION_FAILED });
  let probe: TargetProbe;
  try {
    probe = JSON.parse(result.stdout) as TargetProbe;
  } catch {
    // Usually a shell startup file printing something on a non-interactive login.
    const raw = result.stdout.length > 400 ? `${result.stdout.slice(0, 400)}…` : result.stdout;
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${target}": the probe's answer is not JSON (does a shell startup file print something?): ${JSON.stringify(raw)}`, { exitCode: EXIT_OPERATION_FAILED });
  }
  const [major = 0, minor = 0] = probe.node.split('.').map(Number);
  if (major < MINIMUM_NODE[0]! || (major === MINIMUM_NODE[0] && minor < MINIMUM_NODE[1]!)) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${target}": Node.js ${probe.node} is too old; the engine needs ${MINIMUM_NODE.join('.')} or later`, { exitCode: EXIT_OPERATION_FAILED });
  }
  return probe;
}

/** The receiving command went away: its own exit status and message say why. */
export class RemoteClosedError extends Error {
  constructor() {
    super('the remote side closed the stream');
  }
}

/** Writes with backpressure; rejects when the other side closed instead of waiting for a drain that never comes. */
export async function writeOrFail(output: Writable, data: Buffer | string): Promise<void> {
  if (output.destroyed || output.writableEnded) throw new RemoteClosedError();
  if (output.write(data)) return;
  const closed = once(output, 'close').then(() => {
    throw new RemoteClosedError();
  });
  await Promise.race([once(output, 'drain'), closed]);
}

/** Writes a folder as receiver records: directories, symlinks, files with their modes. */
async function writeRecords(root: string, base: string, output: Writable, onBytes: (n: number) => void): Promise<void> {
  const write = (data: Buffer | string) => writeOrFail(output, data);
  const walk = async (relative: string): Promise<void> => {
    const absolute = path.join(root, relative);
    const info = await lstat(absolute);
    const name = path.posix.join(base, relative.split(path.sep).join('/'));
    if (info.isDirectory()) {
      await write(`${JSON.stringify({ p: name, t: 'd' })}\n`);
      for (const child of (await readdir(absolute)).sort()) await walk(path.join(relative, child));
    } else if (info.isSymbolicLink()) {
      await write(`${JSON.stringify({ p: name, t: 'l', l: await readlink(absolute) })}\n`);
    } else if (info.isFile()) {
      await write(`${JSON.stringify({ p: name, t: 'f', m: info.mode & 0o777, s: info.size })}\n`);
      for await (const chunk of createReadStream(absolute) as AsyncIterable<Buffer>) {
        await write(chunk);
        onBytes(chunk.length);
      }
    }
  };
  await walk('');
}

/**
 * Puts the runtime entry into a target's store when the target has no
 * engine yet: its files go through the receiver into a temp folder, the
 * engine there adds that folder to the target's store under the entry's name
 * (hashing it, so a damaged copy cannot pass for the entry: its hash would
 * differ), and the temp folder is removed.
 */
export async function bootstrapRuntime(options: {
  connection: SshConnection;
  nodePath: string;
  stateDir: string;
  runtimeEntry: string;
  runtimePath: string;
  onBytes: (n: number) => void;
}): Promise<void> {
  const { connection, nodePath, stateDir, runtimeEntry } = options;
  const target = connection.settings.target;
  const channel = await connection.channel(nodeCommand(nodePath, undefined, ['-e', RECEIVER]));
  const received = collect(channel, `target "${target}": bootstrap copy of the engine`);
  // The receiver can fail (no temp folder, a full disk) while records are still going out: handled here, awaited below.
  received.catch(() => undefined);
  const lost = connection.whenLost();
  try {
    await Promise.race([writeRecords(options.runtimePath, runtimeEntry, channel, options.onBytes), lost]);
  } catch (error) {
    // A closed stream only says the receiver stopped: its exit status and message say why.
    if (error instanceof RemoteClosedError) await Promise.race([received, lost]);
    channel.destroy();
    throw error;
  }
  channel.end(`${JSON.stringify({ end: true })}\n`);
  const temporary = (await Promise.race([received, lost])).trim();
  try {
    const copy = path.posix.join(temporary, runtimeEntry);
    const engine = path.posix.join(copy, RUNTIME_ENGINE_BIN);
    const name = parseEntryName(runtimeEntry)!.name;
    const adding = await connection.channel(nodeCommand(nodePath, stateDir, [engine, 'store', '--add', copy, `--name=${name}`, '--json']));
    const added = JSON.parse(await Promise.race([collect(adding, `target "${target}": adding the engine to its store`), lost])) as string[];
    const entry = path.posix.basename(added[0] ?? '');
    if (entry !== runtimeEntry) {
      throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${target}": the engine's copy there hashes to ${entry}, not ${runtimeEntry}: it was damaged on the way`, { exitCode: EXIT_OPERATION_FAILED });
    }
  } finally {
    await connection.exec(nodeCommand(nodePath, undefined, ['-e', 'require("fs").rmSync(process.argv[1], { recursive: true, force: true })', temporary])).catch(() => undefined);
  }
}

/** Resolves with a remote command's stdout when it exits 0; rejects naming `what` otherwise. */
export async function collect(channel: import('ssh2').ClientChannel, what: string): Promise<string> {
  const { code, stdout, stderr } = await channelOutcome(channel);
  if (code === 0) return stdout;
  const detail = stderr.trim();
  const reason = code === undefined ? 'the connection was cut off' : `status ${code}${detail ? `: ${detail}` : ''}`;
  throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${what} failed (${reason})`, { exitCode: EXIT_OPERATION_FAILED });
}
