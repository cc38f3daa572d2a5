import { createHash } from 'node:crypto';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { exportArchive, importArchive } from './archive.js';
import { isBuildFunctionComponent, prepareInputs, type BuildFunctionComponent } from './build-function.js';
import { assertComponentName, entryOf, isEntryName, parseEntryName, sanitizeName } from './entry-name.js';
import { collectGarbage, type CollectOptions, type GarbageCollection } from './gc.js';
import { metaPath, readMeta, readMetaSync, writeMeta, type EntryMeta } from './meta.js';
import { installNpmPackage, npmCacheKey, TARBALL } from './npm-source.js';
import { makeReadOnly, removeTree } from './permissions.js';
import { extractTar } from './safe-extract.js';
import { quickCheckKey } from './quick-check.js';
import { hashSnapshot, hashTree, type SnapshotNode } from './tree-hash.js';
import { readSnapshot, writeSnapshotInto } from './tree-snapshot.js';

/** A folder, a tarball (.tgz, .tar.gz, .tar), `npm:<spec>`, or a component built by a function. */
export type ComponentSource = string | BuildFunctionComponent;

export interface AddOptions {
  /** The name after the hash (default: derived from the source). */
  name?: string;
  /** Folder relative source paths are taken from (default: the working folder). */
  cwd?: string;
  log?: (message: string) => void;
  /** npm: installs use npm's cache only, never a registry (a build on a target: the tarball travels, its dependencies are bundled or cached there). */
  npmOffline?: boolean;
}

const TEMPORARY_PREFIX = '.tmp-';
/** The quick-check salt of store/.stamps/<entry>. */
/** The salt of an entry's stamp (its quick check when this store made or last verified it). */
export const ENTRY_STAMP = 'dysnomia-entry-1';

function readFileSafe(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The content-addressed store, `<stateDir>/store/<hash>-<name>`: entries are
 * read-only folders named by the hash of their contents, name and references
 * (tree-hash.ts). Every entry arrives through a temporary folder inside the
 * store that is hashed, given its metadata (.meta/<entry>.json) and renamed
 * into place, so an entry is either whole under its final name or absent.
 */
export class Store {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static at(stateDir: string): Store {
    return new Store(path.join(path.resolve(stateDir), 'store'));
  }

  /** The state folder the store belongs to. */
  get stateDir(): string {
    return path.dirname(this.dir);
  }

  path(entry: string): string {
    if (!isEntryName(entry)) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `not a store entry name: '${entry}' (expected <32 hash characters>-<name>)`);
    return path.join(this.dir, entry);
  }

  /** The entry an argument names (entry name or a path into this store), or undefined. */
  entryOf(nameOrPath: string): string | undefined {
    return entryOf(this.dir, nameOrPath);
  }

  /** Present: the folder and its metadata are there and agree with the name (verify() rehashes the contents). */
  async has(entry: string): Promise<boolean> {
    return this.hasSync(entry);
  }

  /** has(), synchronously: two small syscalls, cheaper than a thread-pool round trip each (a deploy asks hundreds). */
  hasSync(entry: string): boolean {
    if (!isEntryName(entry)) return false;
    const info = lstatSync(path.join(this.dir, entry), { throwIfNoEntry: false });
    return info?.isDirectory() === true && readMetaSync(this.dir, entry) !== undefined;
  }

  async missing(entries: string[]): Promise<string[]> {
    const result: string[] = [];
    for (const entry of entries) if (!(await this.has(entry))) result.push(entry);
    return result;
  }

  async meta(entry: string): Promise<EntryMeta> {
    const meta = isEntryName(entry) ? readMetaSync(this.dir, entry) : undefined;
    const present = meta !== undefined && lstatSync(path.join(this.dir, entry), { throwIfNoEntry: false })?.isDirectory() === true;
    if (!present) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `not in the store: ${entry}`);
    return meta;
  }

  /** An entry's name hashes its references, so what one name references never changes: remembered once read. */
  private readonly knownReferences = new Map<string, string[]>();

  async references(entry: string): Promise<string[]> {
    let references = this.knownReferences.get(entry);
    if (references === undefined) {
      references = (await this.meta(entry)).references;
      this.knownReferences.set(entry, references);
    }
    return references;
  }

  /** The entries and everything they reference, transitively; references come before the entries that need them. */
  async closure(entries: string[]): Promise<string[]> {
    const ordered: string[] = [];
    const seen = new Set<string>();
    const visit = async (entry: string): Promise<void> => {
      if (seen.has(entry)) return;
      seen.add(entry);
      for (const reference of await this.references(entry)) await visit(reference);
      ordered.push(entry);
    };
    for (const entry of entries) await visit(entry);
    return ordered;
  }

  /** Every entry in the store, sorted. */
  async list(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter(isEntryName).sort();
  }

  async add(source: ComponentSource, options: AddOptions = {}): Promise<string> {
    const cwd = options.cwd ?? process.cwd();
    const log = options.log ?? (() => undefined);
    if (options.name !== undefined) assertComponentName(options.name);
    if (isBuildFunctionComponent(source)) return this.addBuilt(source, options.name, log);
    if (typeof source !== 'string' || source === '') throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'a component source is a folder, a tarball, npm:SPEC or a build function');
    if (source.startsWith('npm:')) return this.addNpm(source.slice('npm:'.length), options.name, cwd, log, options.npmOffline === true);

    const absolute = path.resolve(cwd, source);
    const existing = this.entryOf(absolute);
    if (existing !== undefined && path.join(this.dir, existing) === absolute && this.hasSync(existing)) return existing;
    const info = statSync(absolute, { throwIfNoEntry: false });
    if (info?.isDirectory()) {
      const name = options.name ?? sanitizeName(path.basename(absolute));
      const real = realpathSync(absolute);
      const snapshot = readSnapshot(real);
      if (snapshot?.kind === 'dir') return this.addSnapshot(name, snapshot);
      return this.addTree(name, [], (out) => cp(real, out, { recursive: true, verbatimSymlinks: true }));
    }
    if (info?.isFile() && TARBALL.test(absolute)) {
      const name = options.name ?? sanitizeName(path.basename(absolute).replace(TARBALL, ''));
      log(`extracting ${absolute}`);
      return this.addTree(name, [], async (out) => {
        await mkdir(out);
        try {
          await extractTar(createReadStream(absolute), out, { confineLinks: true });
        } catch (error) {
          // The archive is named: with several sources, which one is bad?
          if (error instanceof DysnomiaError) throw new DysnomiaError(error.code, `${absolute}: ${error.message}`, { exitCode: error.exitCode, cause: error });
          throw error;
        }
        await unwrapSingleFolder(out);
      });
    }
    if (info === undefined) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `no such component source: ${source}`);
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${source}: not a folder, a tarball (.tgz, .tar.gz, .tar) or npm:SPEC`);
  }

  /**
   * The core of every add: `fill(out)` writes a new folder (out does not
   * exist yet; it may return the entry's name) inside a temporary folder of the store; it is hashed,
   * described in .meta and renamed to its entry name. An entry that is
   * already there is kept, the copy dropped.
   */
  async addTree(name: string, references: string[], fill: (out: string) => Promise<unknown>): Promise<string> {
    assertComponentName(name);
    for (const reference of references) {
      if (!(await this.has(reference))) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${name} refers to ${reference}, which is not in the store`);
    }
    const work = await this.temporaryFolder();
    try {
      const out = path.join(work, 'out');
      const filled = await fill(out);
      return await this.commit(out, typeof filled === 'string' ? assertComponentName(filled) : name, references);
    } finally {
      await removeTree(work);
    }
  }

  /**
   * A small folder read into memory: hashed first, so an entry already there
   * costs no copy at all; otherwise written out from the bytes hashed.
   */
  private async addSnapshot(name: string, snapshot: Extract<SnapshotNode, { kind: 'dir' }>): Promise<string> {
    assertComponentName(name);
    const hash = hashSnapshot(snapshot, name, []);
    const entry = `${hash.hashPart}-${name}`;
    if (this.hasSync(entry)) return entry;
    // Synchronous throughout, as the snapshot was read: a component of a few files is a few syscalls.
    // The temporary folder itself becomes the entry (the garbage collector knows its name as a work folder until then).
    mkdirSync(this.dir, { recursive: true });
    const out = mkdtempSync(path.join(this.dir, `${TEMPORARY_PREFIX}${process.pid}-`));
    try {
      writeSnapshotInto(snapshot, out);
      await this.commitVerified(out, { version: 1, entry, references: [], sha256: hash.sha256, size: hash.size });
      this.stamp(entry);
      return entry;
    } finally {
      // Still there when it failed, or when the same entry arrived meanwhile.
      if (existsSync(out)) await removeTree(out);
    }
  }

  /**
   * Whether a cached build result (a build function's, an npm spec's, a
   * folder's) can be used again: present, and unchanged since it was made
   * (its quick check still matches the stamp written then, which costs a few
   * lstat calls) or, failing that, its contents still hash to its name. A
   * damaged entry is removed, so the build that made it runs again and puts
   * it back whole.
   */
  async reusable(entry: string): Promise<boolean> {
    if (!this.hasSync(entry)) return false;
    const stamp = readFileSafe(this.stampPath(entry));
    if (stamp !== undefined && stamp === quickCheckKey(this.path(entry), ENTRY_STAMP)) return true;
    if (await this.verify(entry)) {
      this.stamp(entry);
      return true;
    }
    await this.remove(entry);
    return false;
  }

  private stampPath(entry: string): string {
    return path.join(this.dir, '.stamps', entry);
  }

  /** Remembers the entry's quick check as it is now (just made, or just verified). */
  private stamp(entry: string): void {
    const key = quickCheckKey(this.path(entry), ENTRY_STAMP);
    if (key === undefined) return;
    const file = this.stampPath(entry);
    mkdirSync(path.dirname(file), { recursive: true });
    const temporary = `${file}.tmp-${process.pid}`;
    writeFileSync(temporary, key);
    renameSync(temporary, file);
  }

  async verify(entry: string): Promise<boolean> {
    const parsed = parseEntryName(entry);
    const meta = parsed && (await this.has(entry)) ? await readMeta(this.dir, entry) : undefined;
    if (parsed === undefined || meta === undefined) return false;
    const hash = await hashTree(path.join(this.dir, entry), parsed.name, meta.references).catch(() => undefined);
    return hash !== undefined && hash.hashPart === parsed.hash && hash.sha256 === meta.sha256;
  }

  /** Writes the entries (not their references: pass a closure) and their metadata as one stream; ends `output`. */
  async exportArchive(entries: string[], output: NodeJS.WritableStream): Promise<void> {
    await exportArchive(this.dir, await this.archiveMetas(entries), output);
  }

  /** The metadata of `entries` in the order an archive holds them (references first): what archive.ts's exportArchive takes. */
  async archiveMetas(entries: string[]): Promise<EntryMeta[]> {
    const metas: EntryMeta[] = [];
    for (const entry of await this.closureOrder(entries)) metas.push(await this.meta(entry));
    return metas;
  }

  /**
   * Unpacks an archive from exportArchive into a temporary folder, verifies
   * every entry's hash against its name and that its references are in the
   * archive or the store, then renames them into place (references first).
   * Any failure, a cut-off stream included, leaves no entry and no temporary
   * folder. Returns the entries of the archive.
   */
  async importArchive(input: NodeJS.ReadableStream): Promise<string[]> {
    const work = await this.temporaryFolder();
    try {
      const metas = await importArchive(input, work, this);
      for (const meta of metas) await this.commitVerified(path.join(work, meta.entry), meta);
      return metas.map((m) => m.entry);
    } finally {
      await removeTree(work);
    }
  }

  collectGarbage(options: CollectOptions = {}): Promise<GarbageCollection> {
    return collectGarbage(this, options);
  }

  /** Removes one entry and its metadata (for the garbage collector). */
  async remove(entry: string): Promise<void> {
    await removeTree(this.path(entry));
    await rm(metaPath(this.dir, entry), { force: true });
    await rm(this.stampPath(entry), { force: true });
  }

  /** A fresh folder inside the store named `.tmp-<pid>-…`, so the garbage collector can tell a live one from a leftover. */
  async temporaryFolder(): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    return mkdtemp(path.join(this.dir, `${TEMPORARY_PREFIX}${process.pid}-`));
  }

  /** Records what a key (a build function's or a pinned npm spec's) produced, in store/<kind>/<key>. */
  async lookupIndex(kind: 'derivations' | 'npm', key: string): Promise<string | undefined> {
    const entry = (await readFile(this.indexPath(kind, key), 'utf8').catch(() => '')).trim();
    return entry !== '' && (await this.has(entry)) ? entry : undefined;
  }

  async recordIndex(kind: 'derivations' | 'npm', key: string, entry: string): Promise<void> {
    const file = this.indexPath(kind, key);
    await mkdir(path.dirname(file), { recursive: true });
    const temporary = `${file}.tmp-${process.pid}`;
    await writeFile(temporary, `${entry}\n`);
    await rename(temporary, file);
  }

  indexPath(kind: 'derivations' | 'npm', key: string): string {
    return path.join(this.dir, `.${kind}`, key);
  }

  private async closureOrder(entries: string[]): Promise<string[]> {
    const wanted = new Set(entries);
    return (await this.closure(entries)).filter((entry) => wanted.has(entry));
  }

  private async commit(out: string, name: string, references: string[]): Promise<string> {
    const hash = await hashTree(out, name, references);
    const entry = `${hash.hashPart}-${name}`;
    if (!(await this.has(entry))) {
      await this.commitVerified(out, { version: 1, entry, references: [...new Set(references)].sort(), sha256: hash.sha256, size: hash.size });
      this.stamp(entry);
    }
    return entry;
  }

  /** Metadata first, then the rename: the entry is never visible without it. */
  private async commitVerified(folder: string, meta: EntryMeta): Promise<void> {
    if (this.hasSync(meta.entry)) return;
    await writeMeta(this.dir, meta);
    await makeReadOnly(folder);
    const target = path.join(this.dir, meta.entry);
    try {
      renameSync(folder, target);
    } catch (error) {
      // Someone else stored the same entry meanwhile: theirs is identical.
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !(await this.has(meta.entry))) throw error;
    }
  }

  private async addBuilt(def: BuildFunctionComponent, name: string | undefined, log: (message: string) => void): Promise<string> {
    const prepared = await prepareInputs(def, this.dir, (entry) => this.path(entry), (nested) => this.addBuilt(nested, undefined, log));
    const known = await this.lookupIndex('derivations', prepared.key);
    if (known !== undefined && (await this.reusable(known))) return known;
    log(`building ${def.name}`);
    const entry = await this.addTree(name ?? def.name, prepared.references, async (out) => {
      await mkdir(out);
      try {
        await def.build(out, prepared.resolved);
      } catch (error) {
        throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `building ${def.name} failed: ${error instanceof Error ? error.message : String(error)}`, {
          exitCode: EXIT_OPERATION_FAILED,
          cause: error,
        });
      }
    });
    await this.recordIndex('derivations', prepared.key, entry);
    return entry;
  }

  private async addNpm(spec: string, name: string | undefined, cwd: string, log: (message: string) => void, offline: boolean): Promise<string> {
    if (spec === '') throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'npm: needs a package spec, as in npm:left-pad@1.3.0 or npm:./pkg.tgz');
    const cacheKey = await npmCacheKey(spec, cwd);
    const indexKey = cacheKey === undefined ? undefined : createHash('sha256').update(`${cacheKey}\0${name ?? ''}`).digest('hex');
    if (indexKey !== undefined) {
      const known = await this.lookupIndex('npm', indexKey);
      if (known !== undefined && (await this.reusable(known))) return known;
    }
    const entry = await this.addTree(name ?? 'npm-package', [], async (out) => {
      const installed = await installNpmPackage(spec, out, `${out}.pack`, { cwd, log, offline });
      return name ?? installed;
    });
    if (indexKey !== undefined) await this.recordIndex('npm', indexKey, entry);
    return entry;
  }
}

/** npm's `package/` and most release tarballs wrap everything in one folder: use its contents. */
async function unwrapSingleFolder(out: string): Promise<void> {
  const names = await readdir(out);
  if (names.length !== 1) return;
  const only = path.join(out, names[0]!);
  if (!(await lstat(only)).isDirectory()) return;
  const moved = `${out}.unwrap`;
  await rename(only, moved);
  await rm(out, { recursive: true });
  await rename(moved, out);
}
