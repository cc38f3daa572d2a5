import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { DysnomiaError, ERROR_FORMAT_ENV, EXIT_OPERATION_FAILED, parseErrorLine } from '@dysnomia/engine/internal/errors.js';
import { MODULE_DIRS, MODULE_FILE_SUFFIXES } from '@dysnomia/engine/internal/search-paths.js';
import { shellQuote } from '@dysnomia/engine/internal/shell-quote.js';
import { parseEntryName } from '@dysnomia/engine/internal/store/entry-name.js';
import { fileKind, storedFileMode } from '@dysnomia/engine/internal/store/file-modes.js';
import type { Store } from '@dysnomia/engine/internal/store/store.js';
import type { DeployedMapping } from '../deploy/deployment.js';
import type { LockHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import { RUNTIME_INSTALLER, RUNTIME_ROOT_FILE, RUNTIMES_KEPT, runtimeScriptFunctions } from '@dysnomia/engine/internal/remote/runtime-compose.js';
import type { Runtime } from './runtime.js';
import { channelOutcome } from './ssh-connection.js';
import type { SshConnection } from './ssh-connection.js';

/** A target's answer to "what do you lack, and what is your profile now": all a no-op deploy needs. */
export interface TargetPlan {
  missing: string[];
  current: { generation: number; packages: string[] } | null;
  /** The target's own record of what the profile has activated on it. */
  activated: DeployedMapping[];
  /** Who holds the profile's lock on the target, if anyone. */
  lock: LockHolder | null;
}

/** What a target says about itself before anything is sent. */
export interface TargetProbe {
  node: string;
  stateDir: string;
  /** Whether the runtime entry is already in the target's store. */
  hasRuntime: boolean;
  /** Without the runtime: the runtime's package entries the store lacks (only those are sent). */
  missingPackages?: string[];
  /** With a plan request: the plan, from the same process (one round trip for a no-op). */
  plan?: TargetPlan;
  /** Of the types asked about, those a module in one of the target's profiles provides. */
  profileModules?: string[];
}

/** What the probe is asked, on its standard input. */
export interface ProbeRequest {
  runtime: { entry: string; packages: string[] };
  plan?: { profile: string; closure: string[] };
  /** Types no plugin here serves: does a profile on the target provide a module for them? */
  types?: string[];
}

const MINIMUM_NODE = [20, 19];


/**
 * Run with `node -e` on the target (no engine may be there yet): Node's
 * version, the state folder (DYSNOMIA_STATEDIR as given, else Dysnomia's
 * default for the user), whether the runtime entry is in its store (and
 * which of its packages are, when it is not), and what the request asks.
 * When the runtime is there and the run installs (argv[2] is "keep"), the GC
 * root naming the target's runtimes gets it first (written only when that
 * changes it); a dry run or a listing writes nothing.
 */
const PROBE = `
const fs = require('fs'), os = require('os'), path = require('path');
const [entryArg, keepArg, keptArg, rootArg, dirsArg, suffixesArg] = process.argv.slice(1);
function keep(file, entry) {
  let old = [];
  try { const parsed = JSON.parse(fs.readFileSync(file, 'utf8')); if (Array.isArray(parsed.storePaths)) old = parsed.storePaths; } catch {}
  if (old[0] === entry) return;
  const text = JSON.stringify({ storePaths: [entry, ...old.filter((e) => e !== entry)].slice(0, Number(keptArg)) });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file + '.tmp', text);
  fs.renameSync(file + '.tmp', file);
}
(async () => {
  const stateDir = process.env.DYSNOMIA_STATEDIR || (process.getuid && process.getuid() === 0 ? '/var/state/dysnomia' : path.join(os.homedir(), '.dysnomia'));
  const store = path.join(stateDir, 'store');
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const request = JSON.parse(input);
  // What Store.has, Store.missing and Profiles.packages answer, read directly: importing the engine's
  // modules here would cost each target more than the rest of the probe (a no-op deploy is this call).
  const meta = (e) => {
    try {
      const m = JSON.parse(fs.readFileSync(path.join(store, '.meta', e + '.json'), 'utf8'));
      return m.entry === e && Array.isArray(m.references) ? m : undefined;
    } catch { return undefined; }
  };
  const has = (e) => { try { return fs.lstatSync(path.join(store, e)).isDirectory() && meta(e) !== undefined; } catch { return false; } };
  const hasRuntime = has(entryArg);
  const answer = { node: process.versions.node, stateDir, hasRuntime };
  if (!hasRuntime) answer.missingPackages = request.runtime.packages.filter((e) => !has(e));
  else if (keepArg === 'keep') keep(path.join(stateDir, rootArg), entryArg);
  const profiles = path.join(stateDir, 'profiles');
  // Read from the store and the profiles directly, so a target that is about to get its runtime answers too.
  if (request.plan) {
    let current = null;
    try {
      const link = path.basename(fs.readlinkSync(path.join(profiles, request.plan.profile)));
      const number = /^(.*)-(\\d+)-link$/.exec(link);
      const generation = number && number[1] === request.plan.profile ? meta(path.basename(fs.readlinkSync(path.join(profiles, link)))) : undefined;
      if (generation) current = { generation: Number(number[2]), packages: generation.references };
    } catch {}
    const readJson = (file) => { try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return undefined; } };
    const record = readJson(path.join(stateDir, 'activations', request.plan.profile + '.json'));
    let lock = null;
    try { fs.lstatSync(path.join(stateDir, 'locks', 'profile-' + request.plan.profile + '.json')); lock = readJson(path.join(stateDir, 'locks', 'profile-' + request.plan.profile + '.json')) || { user: 'unknown', host: 'unknown', pid: 0, since: 'unknown' }; } catch {}
    answer.plan = { missing: request.plan.closure.filter((e) => !has(e)), current, activated: record && Array.isArray(record.mappings) ? record.mappings : [], lock };
  }
  if (request.types) {
    let names = [];
    try { names = fs.readdirSync(profiles).filter((n) => !n.startsWith('.') && !/-\\d+-link$/.test(n)); } catch {}
    const dirs = JSON.parse(dirsArg), suffixes = JSON.parse(suffixesArg);
    answer.profileModules = request.types.filter((type) => names.some((p) => dirs.some((d) => suffixes.some((s) => fs.existsSync(path.join(profiles, p, d, type + s))))));
  }
  process.stdout.write(JSON.stringify(answer));
})().catch((error) => { process.stderr.write(String((error && error.stack) || error)); process.exit(1); });
`;

/**
 * The first copy of a runtime, for a target whose engine may not be there
 * yet, dependency-free. Standard input: a JSON line (the layout, the
 * runtime's entry, name and package entries, the packages that follow),
 * then records (a JSON header line, then its size in bytes for a file) of the
 * packages the target lacks, then an end record. It writes them into a new
 * folder inside the target's store, composes the runtime there from them
 * and from the packages the store has (hard links), and imports that
 * runtime's own engine (installComposedRuntime), which adds the received
 * packages and the runtime to the store, each only if it hashes to its
 * entry's name. The folder is removed whatever happens; paths cannot leave
 * it. It checks the Node version itself: the SFTP probe does not.
 */
const BOOTSTRAP = `
const fs = require('fs'), path = require('path'), url = require('url');
${runtimeScriptFunctions()}
const [stateDir, installer, minimum] = process.argv.slice(1);
const [major, minor] = process.versions.node.split('.').map(Number), [needMajor, needMinor] = minimum.split('.').map(Number);
if (major < needMajor || (major === needMajor && minor < needMinor)) { process.stderr.write('bootstrap: Node.js ' + process.versions.node + ' is too old; the engine needs ' + minimum + ' or later\\n'); process.exit(1); }
const storeDir = path.join(stateDir, 'store');
let root;
try { fs.mkdirSync(storeDir, { recursive: true }); root = fs.mkdtempSync(path.join(storeDir, '.tmp-' + process.pid + '-')); fs.mkdirSync(path.join(root, 'packages')); }
catch (error) { process.stderr.write('bootstrap: cannot make a folder in ' + storeDir + ': ' + error.message + '\\n'); process.exit(1); }
let buffer = Buffer.alloc(0), spec = null, current = null, remaining = 0, done = false;
const umask = process.umask();
const cleanUp = () => { try { fs.rmSync(root, { recursive: true, force: true }); } catch {} };
const fail = (message) => { cleanUp(); process.stderr.write('bootstrap: ' + message + '\\n'); process.exit(1); };
process.on('SIGTERM', () => fail('terminated')); process.on('SIGHUP', () => fail('the connection was cut off'));
const inside = (relative) => {
  const target = path.resolve(root, relative);
  if (path.isAbsolute(relative) || !target.startsWith(root + path.sep)) fail('path leaves the folder: ' + relative);
  return target;
};
const record = (header) => {
  if (header.end) { done = true; return; }
  const target = inside(header.p);
  // Records come parents first: a folder's parent is there already.
  if (header.t === 'd') fs.mkdirSync(target, { mode: 0o755 });
  else if (header.t === 'l') fs.symlinkSync(header.l, target);
  else if (header.t === 'f') {
    current = fs.openSync(target, 'w', header.m & 0o777);
    // The exact mode, whatever the umask: the executable and private bits are part of an entry's hash.
    if ((header.m & umask) !== 0) fs.fchmodSync(current, header.m & 0o777);
    remaining = header.s;
    if (remaining === 0) { fs.closeSync(current); current = null; }
  }
  else fail('unknown record ' + JSON.stringify(header));
};
process.stdin.on('data', (chunk) => {
  try { receive(chunk); } catch (error) { fail('writing what was received failed: ' + error.message); }
});
const receive = (chunk) => {
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
    if (spec === null) spec = header; else record(header);
  }
};
process.stdin.on('end', () => {
  if (!done || current !== null || spec === null) fail('the stream ended early');
  try {
    const received = new Set(spec.received);
    composeRuntime(fs, path, spec.layout, (entry) => received.has(entry) ? path.join(root, 'packages', entry) : path.join(storeDir, entry), path.join(root, 'runtime'));
  } catch (error) { fail('composing the runtime failed: ' + error.message); }
  // The composed runtime's own engine adds it to the store, in this process.
  import(url.pathToFileURL(path.join(root, 'runtime', installer)).href)
    .then((engine) => engine.installComposedRuntime(root, stateDir, { runtime: spec.runtime, received: spec.received }))
    .then((runtime) => { cleanUp(); process.stdout.write(JSON.stringify({ runtime })); process.exit(0); }, (error) => fail(error.message));
});
`;

/** How Node is started on a target: which program, and whether through sudo (a login other than root becoming root). */
export interface RemoteNode {
  path: string;
  sudo: boolean;
}

/**
 * A command line running Node there; the engine's errors come back as data
 * (ERROR_FORMAT_ENV), not text to parse. Through sudo: `sudo -n` never asks
 * for a password (passwordless sudo is required, see docs/architecture.md),
 * and `env` sets the variables whatever sudo's env_reset lets through.
 */
export function nodeCommand(node: RemoteNode, stateDir: string | undefined, args: string[]): string {
  const env = `${ERROR_FORMAT_ENV}=json ${stateDir === undefined ? '' : `DYSNOMIA_STATEDIR=${shellQuote(stateDir)} `}`;
  const command = `${env}${shellQuote(node.path)} ${args.map(shellQuote).join(' ')}`;
  return node.sudo ? `sudo -n -H -- env ${command}` : command;
}

/** What a failed command's stderr says about sudo, in words that say what to do; undefined when sudo is not the problem. */
export function sudoProblem(stderr: string, code: number, user: string): string | undefined {
  if (code === 127 && /\bsudo: (command )?not found/.test(stderr)) {
    return `the target property sudo is set, but sudo is not installed there (install it: apt-get install sudo)`;
  }
  if (/sudo: (a password is required|a terminal is required)/.test(stderr)) {
    return (
      `sudo asks for ${user}'s password there; dysnomia runs sudo -n and never sends a password: ` +
      `allow ${user} passwordless sudo (visudo -f /etc/sudoers.d/dysnomia: "${user} ALL=(root) NOPASSWD: ALL"), or log in as root`
    );
  }
  if (/you must have a tty/.test(stderr)) {
    return `sudo there wants a terminal for ${user} (requiretty); dysnomia runs commands without one: add "Defaults:${user} !requiretty" to sudoers`;
  }
  if (/is not in the sudoers file|is not allowed to execute|may not run sudo/.test(stderr)) {
    return `${user} may not run commands as root with sudo there (sudo said: ${stderr.trim().split('\n')[0]}); allow it passwordless sudo (NOPASSWD), or log in as root`;
  }
  return undefined;
}

export async function probeTarget(connection: SshConnection, node: RemoteNode, stateDir: string | undefined, request: ProbeRequest, keepRuntime = true): Promise<TargetProbe> {
  const target = connection.settings.target;
  const args = ['-e', PROBE, request.runtime.entry, keepRuntime ? 'keep' : 'read-only', String(RUNTIMES_KEPT), RUNTIME_ROOT_FILE, JSON.stringify(MODULE_DIRS), JSON.stringify(MODULE_FILE_SUFFIXES)];
  const result = await connection.exec(nodeCommand(node, stateDir, args), JSON.stringify(request), 'to the probe');
  const sudoSaid = node.sudo && result.code !== 0 ? sudoProblem(result.stderr, result.code, connection.settings.username) : undefined;
  if (sudoSaid) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${target}": ${sudoSaid}`, { exitCode: EXIT_OPERATION_FAILED });
  if (result.code === 127 || /not found/.test(result.stderr) && result.code !== 0) {
    // sudo runs programs from its secure_path, not the login's PATH.
    const where = node.sudo ? ` in sudo's secure_path` : '';
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${target}": Node.js is not there ("${node.path}" not found${where}); install Node.js ${MINIMUM_NODE.join('.')}+ on it, or set the target property nodePath`, { exitCode: EXIT_OPERATION_FAILED });
  }
  if (result.code !== 0) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${target}": probing with ${node.path} failed (status ${result.code}): ${result.stderr.trim()}`, { exitCode: EXIT_OPERATION_FAILED });
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

/** Files up to this size go out with their header in one write, read in one call (a runtime is ~800 small files). */
const SMALL_FILE = 1 << 20;

/** Writes a folder as receiver records: directories, symlinks, files with the read-only modes they have in the store (so the target need not change them). */
async function writeRecords(root: string, base: string, output: Writable, onBytes: (n: number) => void): Promise<void> {
  const write = (data: Buffer | string) => writeOrFail(output, data);
  const walk = async (relative: string): Promise<void> => {
    const absolute = path.join(root, relative);
    const info = lstatSync(absolute);
    const name = path.posix.join(base, relative.split(path.sep).join('/'));
    if (info.isDirectory()) {
      await write(`${JSON.stringify({ p: name, t: 'd' })}\n`);
      for (const child of readdirSync(absolute).sort()) await walk(path.join(relative, child));
    } else if (info.isSymbolicLink()) {
      await write(`${JSON.stringify({ p: name, t: 'l', l: readlinkSync(absolute) })}\n`);
    } else if (info.isFile()) {
      const header = `${JSON.stringify({ p: name, t: 'f', m: storedFileMode(fileKind(info.mode)), s: info.size })}\n`;
      if (info.size <= SMALL_FILE) {
        const contents = readFileSync(absolute);
        await write(Buffer.concat([Buffer.from(header), contents]));
        onBytes(contents.length);
        return;
      }
      await write(header);
      for await (const chunk of createReadStream(absolute) as AsyncIterable<Buffer>) {
        await write(chunk);
        onBytes(chunk.length);
      }
    }
  };
  await walk('');
}

/**
 * Puts a runtime into a target's store: the packages it lacks go over as
 * records, the runtime is composed there from them and from the packages it
 * has, and that runtime's own engine adds the new packages and the runtime
 * to the store, each only if its hash is its entry's (a damaged copy is
 * refused), and makes the runtime the first of the target's GC root. One
 * SSH command does it all; its temporary folder is removed however it ends.
 */
export async function bootstrapRuntime(options: {
  connection: SshConnection;
  node: RemoteNode;
  stateDir: string;
  runtime: Runtime;
  /** The runtime's packages the target lacks: only those are sent. */
  missing: string[];
  store: Store;
  onBytes: (n: number) => void;
}): Promise<void> {
  const { connection, runtime, missing } = options;
  const target = connection.settings.target;
  const channel = await connection.channel(nodeCommand(options.node, undefined, ['-e', BOOTSTRAP, options.stateDir, RUNTIME_INSTALLER, MINIMUM_NODE.join('.')]));
  const received = collect(channel, `target "${target}": installing the engine`);
  // The receiver can fail (a full disk) while records are still going out: handled here, awaited below.
  received.catch(() => undefined);
  const lost = connection.whenLost();
  const spec = { layout: runtime.layout, received: missing, runtime: { entry: runtime.entry, name: parseEntryName(runtime.entry)!.name, references: runtime.packages } };
  try {
    await Promise.race([
      (async () => {
        await writeOrFail(channel, `${JSON.stringify(spec)}\n`);
        for (const entry of missing) await writeRecords(options.store.path(entry), `packages/${entry}`, channel, options.onBytes);
      })(),
      lost,
    ]);
  } catch (error) {
    // A closed stream only says the receiver stopped: its exit status and message say why.
    if (error instanceof RemoteClosedError) await Promise.race([received, lost]);
    channel.destroy();
    throw error;
  }
  channel.end(`${JSON.stringify({ end: true })}\n`);
  const answer = JSON.parse(await Promise.race([received, lost])) as { runtime: string };
  if (answer.runtime !== runtime.entry) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${target}": the runtime composed there is ${answer.runtime}, not ${runtime.entry}`, { exitCode: EXIT_OPERATION_FAILED });
  }
}

/** Resolves with a remote command's stdout when it exits 0; rejects naming `what` otherwise. */
export async function collect(channel: import('ssh2').ClientChannel, what: string): Promise<string> {
  const { code, stdout, stderr } = await channelOutcome(channel);
  if (code === 0) return stdout;
  if (code === undefined) throw new DysnomiaError('ERR_DYSNOMIA_UNREACHABLE', `${what} failed (the connection was cut off)`, { exitCode: EXIT_OPERATION_FAILED });
  // The engine there says its error as data (ERROR_FORMAT_ENV): its code and exit status come across unchanged.
  const said = parseErrorLine(stderr);
  if (said) throw new DysnomiaError(said.code, `${what} failed: ${said.message}`, { exitCode: said.exitCode });
  const detail = stderr.trim();
  throw new DysnomiaError('ERR_DYSNOMIA_AGENT', `${what} failed (status ${code}${detail ? `: ${detail}` : ''})`, { exitCode: EXIT_OPERATION_FAILED });
}
