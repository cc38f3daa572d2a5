import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';

/**
 * OpenSSH known_hosts files: `[@marker] patterns keytype base64-key [comment]`,
 * where patterns are comma-separated host names (wildcards `*` `?`, negation
 * `!`, `[host]:port` for a port other than 22) or one hashed name
 * `|1|base64-salt|base64-hmac-sha1`.
 */
export interface KnownHostLine {
  file: string;
  line: number;
  marker?: 'cert-authority' | 'revoked';
  patterns: string;
  keyType: string;
  key: Buffer;
}

export type HostKeyCheck =
  | { status: 'known'; entry: KnownHostLine }
  /** No key of the offered type for this host; `otherTypes` lists the types that are known for it. */
  | { status: 'unknown'; otherTypes: string[] }
  | { status: 'changed'; entry: KnownHostLine }
  | { status: 'revoked'; entry: KnownHostLine };

/** The name OpenSSH looks a host up by: `host` on port 22, `[host]:port` otherwise. */
export function hostLookupName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

/** The key type inside an SSH public key blob (its first length-prefixed string). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) throw new Error('host key blob too short');
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('ascii');
}

/** `SHA256:…` as ssh-keygen -l prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function parseKnownHosts(text: string, file: string): KnownHostLine[] {
  const entries: KnownHostLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: KnownHostLine['marker'];
    if (fields[0].startsWith('@')) {
      const name = fields.shift()!.slice(1);
      if (name !== 'cert-authority' && name !== 'revoked') return; // unknown markers are ignored, as OpenSSH does
      marker = name;
    }
    const [patterns, keyType, base64] = fields;
    if (patterns === undefined || keyType === undefined || base64 === undefined) return;
    const key = Buffer.from(base64, 'base64');
    if (key.length === 0) return;
    entries.push({ file, line: index + 1, ...(marker ? { marker } : {}), patterns, keyType, key });
  });
  return entries;
}

/** OpenSSH's pattern match: `*` any run, `?` one character, case-insensitive. */
function wildcardMatch(pattern: string, name: string): boolean {
  const regex = pattern.toLowerCase().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const [, magic, salt, hash] = pattern.split('|');
  if (magic !== '1' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Whether a line's host patterns cover `name` (the lookup name): a matching negation excludes the line. */
export function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedMatch(patterns, name);
  let matched = false;
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!');
    if (wildcardMatch(negated ? pattern.slice(1) : pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

export class KnownHosts {
  constructor(readonly file: string, readonly entries: KnownHostLine[]) {}

  /** A missing file is an empty one: every host is unknown. */
  static async load(file: string): Promise<KnownHosts> {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      // ENOTDIR: a parent is a file, so the file cannot exist either.
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return '';
      throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `cannot read the known hosts file ${file}: ${error.message}`, { exitCode: EXIT_OPERATION_FAILED, cause: error });
    });
    return new KnownHosts(file, parseKnownHosts(text, file));
  }

  entriesFor(host: string, port: number): KnownHostLine[] {
    const name = hostLookupName(host, port);
    return this.entries.filter((entry) => patternsMatch(entry.patterns, name));
  }

  /** The key types known for a host (so the client can ask the server for one of those first). */
  keyTypesFor(host: string, port: number): string[] {
    return [...new Set(this.entriesFor(host, port).filter((e) => e.marker === undefined).map((e) => e.keyType))];
  }

  check(host: string, port: number, blob: Buffer): HostKeyCheck {
    const entries = this.entriesFor(host, port);
    const type = keyTypeOf(blob);
    const revoked = this.entries.find((e) => e.marker === 'revoked' && e.key.equals(blob));
    if (revoked) return { status: 'revoked', entry: revoked };
    const plain = entries.filter((e) => e.marker === undefined);
    const same = plain.find((e) => e.keyType === type && e.key.equals(blob));
    if (same) return { status: 'known', entry: same };
    const other = plain.find((e) => e.keyType === type);
    if (other) return { status: 'changed', entry: other };
    return { status: 'unknown', otherTypes: [...new Set(plain.map((e) => e.keyType))] };
  }
}

/** Appends a host's key as OpenSSH's accept-new does, with the host name hashed when `hashed`. */
export async function appendKnownHost(file: string, host: string, port: number, blob: Buffer, hashed = false): Promise<void> {
  const name = hostLookupName(host, port);
  let patterns = name;
  if (hashed) {
    const salt = randomBytes(20);
    patterns = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const existing = await readFile(file, 'utf8').catch(() => '');
  const separator = existing === '' || existing.endsWith('\n') ? '' : '\n';
  await appendFile(file, `${separator}${patterns} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}

/** The ssh2 host key algorithms that produce keys of a known_hosts key type. */
export function algorithmsForKeyType(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [keyType];
}
