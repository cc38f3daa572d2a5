import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DysnomiaError, inputError } from '@dysnomia/engine/internal/errors.js';

/**
 * The part of OpenSSH's client configuration (ssh_config(5)) that says how a
 * host is reached: Host blocks with patterns (`*`, `?`, `!negation`), and
 * HostName, Port, User, IdentityFile, ProxyJump, UserKnownHostsFile. As in
 * OpenSSH, the first value found for a keyword wins (IdentityFile adds up),
 * keywords are case-insensitive, `keyword value` and `keyword=value` both
 * work. Every other keyword is left alone (it is another program's business
 * or has no ssh2 counterpart); `Match` blocks are skipped as a whole (their
 * criteria run commands and read state this file cannot judge), `Include`
 * is followed (relative to ~/.ssh, `*` and `?` in the file name).
 */

/** One hop of a ProxyJump line: `[user@]host[:port]` or `ssh://[user@]host[:port]`. */
export interface JumpSpec {
  user?: string;
  host: string;
  port?: number;
}

/** What the configuration says of one host name (undefined: nothing). */
export interface HostOptions {
  hostName?: string;
  port?: number;
  user?: string;
  identityFiles: string[];
  /** Empty for `ProxyJump none`. */
  proxyJump?: JumpSpec[];
  userKnownHostsFile?: string;
}

interface Setting {
  keyword: string;
  args: string[];
  file: string;
  line: number;
}

interface Block {
  /** Pattern lists that must all match: the Host line's, and those of the Host block an Include is in. */
  conditions: string[][];
  /** A Match block (or inside one): never applies (see above). */
  skipped: boolean;
  settings: Setting[];
}

const EVERY_HOST: Block = { conditions: [], skipped: false, settings: [] };

const SUPPORTED = new Set(['hostname', 'port', 'user', 'identityfile', 'proxyjump', 'userknownhostsfile']);
const MAX_INCLUDE_DEPTH = 16;
const MAX_JUMPS = 16;

export const DEFAULT_SSH_CONFIG = (): string => path.join(os.homedir(), '.ssh', 'config');

/** The ssh config a target's connection follows: the one its sshConfig property names, else ~/.ssh/config if there is one. */
export function sshConfigOf(target: { properties: Record<string, unknown> }): SshConfig {
  const named = target.properties.sshConfig as string | undefined;
  return SshConfig.read(named ?? DEFAULT_SSH_CONFIG(), { required: named !== undefined });
}

export class SshConfig {
  private constructor(
    /** The file named by the user (for messages). */
    readonly file: string | undefined,
    private readonly blocks: Block[],
  ) {}

  static readonly empty = new SshConfig(undefined, []);

  /** Reads `file`; a missing file is an error when it was named (`required`), and no configuration otherwise. */
  static read(file: string, options: { required: boolean }): SshConfig {
    if (!options.required && !existsSync(file)) return SshConfig.empty;
    const blocks: Block[] = [];
    readInto(file, blocks, EVERY_HOST, 0, undefined);
    return new SshConfig(file, blocks);
  }

  static parse(text: string, file: string): SshConfig {
    const blocks: Block[] = [];
    parseInto(text, file, blocks, EVERY_HOST, 0);
    return new SshConfig(file, blocks);
  }

  /** What the configuration says of `alias` (the name the infrastructure gives), first value winning. */
  lookup(alias: string): HostOptions {
    const found: HostOptions = { identityFiles: [] };
    const user = os.userInfo().username;
    for (const block of this.blocks) {
      if (block.skipped || !block.conditions.every((patterns) => hostMatches(alias, patterns))) continue;
      for (const setting of block.settings) {
        const value = setting.args[0]!;
        switch (setting.keyword) {
          case 'hostname':
            found.hostName ??= expandTokens(value, setting, { h: alias, n: alias, u: user });
            break;
          case 'port':
            found.port ??= portOf(value, setting);
            break;
          case 'user':
            found.user ??= value;
            break;
          case 'identityfile':
            if (value.toLowerCase() !== 'none') found.identityFiles.push(localPath(expandTokens(value, setting, { h: alias, n: alias, u: user, d: os.homedir(), r: '%r' }), setting));
            break;
          case 'proxyjump':
            found.proxyJump ??= value.toLowerCase() === 'none' ? [] : parseJumps(setting.args.join(','), setting);
            break;
          case 'userknownhostsfile':
            found.userKnownHostsFile ??= value.toLowerCase() === 'none' ? undefined : localPath(expandTokens(value, setting, { h: alias, n: alias, u: user, d: os.homedir() }), setting);
            break;
        }
      }
    }
    // %r is the remote user, known only once User is settled.
    const remoteUser = found.user ?? user;
    found.identityFiles = found.identityFiles.map((file) => file.replaceAll('%r', remoteUser));
    return found;
  }
}

/**
 * The hops to go through for `alias`, first connected first: its ProxyJump
 * chain, where the first hop's own ProxyJump (from this configuration) is
 * followed too, as OpenSSH does.
 */
export function jumpChain(config: SshConfig, alias: string): JumpSpec[] {
  const chain = (host: string, depth: number): JumpSpec[] => {
    const hops = config.lookup(host).proxyJump ?? [];
    if (hops.length === 0) return [];
    if (depth > MAX_JUMPS) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${config.file ?? 'ssh config'}: ProxyJump for "${alias}" goes round in a loop (more than ${MAX_JUMPS} hops)`);
    return [...chain(hops[0]!.host, depth + 1), ...hops];
  };
  return chain(alias, 0);
}

function readInto(file: string, blocks: Block[], outer: Block, depth: number, from: Setting | undefined): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    if (from) throw inputError('ERR_DYSNOMIA_INPUT', { file: from.file, line: from.line }, `Include ${file}: ${reason}`);
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `cannot read the ssh config ${file}: ${reason}`);
  }
  parseInto(text, file, blocks, outer, depth);
}

/** Adds the file's blocks; `outer` is the block an Include line is in (its conditions hold for all of them). */
function parseInto(text: string, file: string, blocks: Block[], outer: Block, depth: number): void {
  const lines = text.split(/\r?\n/);
  let current: Block = { conditions: outer.conditions, skipped: outer.skipped, settings: [] };
  blocks.push(current);
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    const words = splitLine(lines[index]!, file, line);
    if (words.length === 0) continue;
    const keyword = words[0]!.toLowerCase();
    const args = words.slice(1);
    const setting: Setting = { keyword, args, file, line };
    if (args.length === 0) throw inputError('ERR_DYSNOMIA_INPUT', { file, line }, `${words[0]} needs a value`);
    if (keyword === 'host' || keyword === 'match') {
      current = { conditions: keyword === 'host' ? [...outer.conditions, args] : outer.conditions, skipped: outer.skipped || keyword === 'match', settings: [] };
      blocks.push(current);
    } else if (keyword === 'include') {
      if (depth >= MAX_INCLUDE_DEPTH) throw inputError('ERR_DYSNOMIA_INPUT', { file, line }, 'Include nested too deeply (a loop?)');
      const enclosing = current;
      for (const pattern of args) {
        for (const included of includedFiles(pattern, setting)) readInto(included, blocks, enclosing, depth + 1, setting);
      }
      // What follows the Include belongs to the block it is in, after what the included files said.
      current = { conditions: enclosing.conditions, skipped: enclosing.skipped, settings: [] };
      blocks.push(current);
    } else if (SUPPORTED.has(keyword)) current.settings.push(setting);
  }
}

/** Words of a line: whitespace (or one `=` after the keyword) separates, double quotes group, `#` starts a comment. */
function splitLine(text: string, file: string, line: number): string[] {
  const words: string[] = [];
  let i = 0;
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return words;
  while (i < trimmed.length) {
    while (i < trimmed.length && /\s/.test(trimmed[i]!)) i++;
    if (i >= trimmed.length) break;
    if (words.length === 1 && trimmed[i] === '=') {
      i++;
      continue;
    }
    if (trimmed[i] === '#' && words.length > 0) break;
    let word = '';
    if (trimmed[i] === '"') {
      const end = trimmed.indexOf('"', i + 1);
      if (end < 0) throw inputError('ERR_DYSNOMIA_INPUT', { file, line }, 'unterminated quote');
      word = trimmed.slice(i + 1, end);
      i = end + 1;
    } else {
      while (i < trimmed.length && !/\s/.test(trimmed[i]!) && !(words.length === 0 && trimmed[i] === '=')) word += trimmed[i++];
    }
    words.push(word);
  }
  return words;
}

/** OpenSSH's pattern list: some pattern matches and no `!pattern` does. */
export function hostMatches(host: string, patterns: string[]): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    if (!wildcardMatch(host.toLowerCase(), (negated ? pattern.slice(1) : pattern).toLowerCase())) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function wildcardMatch(text: string, pattern: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${source}$`, 's').test(text);
}

function includedFiles(pattern: string, setting: Setting): string[] {
  const expanded = pattern.startsWith('~/') ? path.join(os.homedir(), pattern.slice(2)) : pattern;
  const absolute = path.isAbsolute(expanded) ? expanded : path.join(os.homedir(), '.ssh', expanded);
  const name = path.basename(absolute);
  if (!/[*?]/.test(name)) return existsSync(absolute) ? [absolute] : [];
  if (/[*?]/.test(path.dirname(absolute))) throw inputError('ERR_DYSNOMIA_INPUT', { file: setting.file, line: setting.line }, `Include ${pattern}: wildcards are supported in the file name only`);
  let names: string[];
  try {
    names = readdirSync(path.dirname(absolute));
  } catch {
    return [];
  }
  return names.filter((n) => wildcardMatch(n, name)).sort().map((n) => path.join(path.dirname(absolute), n));
}

function portOf(value: string, setting: Setting): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw inputError('ERR_DYSNOMIA_INPUT', { file: setting.file, line: setting.line }, `Port must be a port number, not "${value}"`);
  return port;
}

/** `%h`-style tokens; an unknown one is an error (OpenSSH refuses it too). */
function expandTokens(value: string, setting: Setting, tokens: Record<string, string>): string {
  return value.replace(/%(.)/g, (whole, token: string) => {
    if (token === '%') return '%';
    const replacement = tokens[token];
    if (replacement === undefined) throw inputError('ERR_DYSNOMIA_INPUT', { file: setting.file, line: setting.line }, `token ${whole} is not supported here (supported: ${Object.keys(tokens).map((t) => `%${t}`).join(' ')} %%)`);
    return replacement;
  });
}

function localPath(value: string, setting: Setting): string {
  if (value === '~' || value.startsWith('~/')) return path.join(os.homedir(), value.slice(2));
  if (value.startsWith('~')) throw inputError('ERR_DYSNOMIA_INPUT', { file: setting.file, line: setting.line }, `${value}: only ~/ (this user's home) is supported`);
  // Relative to the working folder, as OpenSSH has it.
  return path.resolve(value);
}

/** `a,b:2222,u@c` (or `ssh://u@c:22`): the hops, in the order they are connected. */
export function parseJumps(value: string, setting: Pick<Setting, 'file' | 'line'>): JumpSpec[] {
  return value.split(',').map((raw) => {
    const bad = () => inputError('ERR_DYSNOMIA_INPUT', { file: setting.file, line: setting.line }, `ProxyJump: "${raw}" is not [user@]host[:port]`);
    const spec = raw.startsWith('ssh://') ? raw.slice(6).replace(/\/$/, '') : raw;
    const match = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s[\]]+)(?::(\d+))?$/.exec(spec);
    if (!match) throw bad();
    const port = match[3] === undefined ? undefined : Number(match[3]);
    if (port !== undefined && (port < 1 || port > 65535)) throw bad();
    return { ...(match[1] ? { user: match[1] } : {}), host: match[2]!.replace(/^\[(.*)\]$/, '$1'), ...(port !== undefined ? { port } : {}) };
  });
}
