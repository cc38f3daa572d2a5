import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { chmod, copyFile, mkdir, readlink, symlink } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { SourceCache } from '../deploy/source-cache.js';
import { sanitizeName } from '@dysnomia/engine/internal/store/entry-name.js';
import type { Store } from '@dysnomia/engine/internal/store/store.js';
import { engineVersion } from '@dysnomia/engine/internal/version.js';
import { compareText, ENGINE_PACKAGE, findInstalledPackage, InstalledPackages, packageFiles } from '@dysnomia/engine/internal/remote/installed-packages.js';
import { DEPLOY_PACKAGE } from '@dysnomia/engine/internal/cli/coordinator-commands.js';
import type { InstalledPackage } from '@dysnomia/engine/internal/remote/installed-packages.js';
import { composeRuntime, RUNTIME_PACKAGES_DIR } from '@dysnomia/engine/internal/remote/runtime-compose.js';
import type { RuntimeLayout } from '@dysnomia/engine/internal/remote/runtime-compose.js';

/** The first-party plugins: every target gets those installed beside the engine here. */
export const FIRST_PARTY_PLUGINS = [
  '@dysnomia/plugin-package',
  '@dysnomia/plugin-wrapper',
  '@dysnomia/plugin-process',
  '@dysnomia/plugin-mysql-database',
  '@dysnomia/plugin-tomcat-webapplication',
];

export { RUNTIME_ENGINE_BIN, RUNTIME_ROOT_FILE, RUNTIMES_KEPT } from '@dysnomia/engine/internal/remote/runtime-compose.js';

/**
 * What only a coordinator loads: this package (@dysnomia/deploy, which the
 * engine depends on for its CLI's coordinator commands) and with it SSH
 * (ssh2), the YAML model parser and the PostgreSQL client (pg); named one by
 * one too, for an install where the engine reaches them another way. A target never loads them, so runtimes leave them out (about 40 %
 * of the files every target would write and hash).
 */
export const COORDINATOR_ONLY = new Set([DEPLOY_PACKAGE, 'ssh2', 'yaml', 'pg', 'pg-connection-string', 'pgpass']);

/** This engine's package folder (the one holding package.json, bin/ and dist/). */
export function enginePackageDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve(`${ENGINE_PACKAGE}/package.json`));
}

/** A plugin package folder as installed here: beside the engine, else from the working folder. */
export function installedBesideEngine(name: string): string | undefined {
  for (const base of [enginePackageDir(), process.cwd()]) {
    const found = findInstalledPackage(name, base);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** What a target runs: the engine and plugins with their dependencies, composed from one store entry per package. */
export interface Runtime {
  /** The composed runtime's store entry. */
  entry: string;
  /** The package entries it is made of (its references). */
  packages: string[];
  layout: RuntimeLayout;
  /** Plugins beyond the first-party ones, as paths inside the runtime, for the target's agent to load. */
  plugins: string[];
}

/** What a runtime is made of: the engine, the first-party plugins found beside it and any other plugin package folders. */
export interface RuntimeRequest {
  plugins: string[];
}

/**
 * Builds runtimes from what is installed on this machine: every npm package
 * (the engine, the plugins, their production dependencies, as Node resolves
 * them here) becomes one store entry, and a runtime entry composes them
 * into a node_modules tree. Nothing is packed, installed or downloaded; the
 * same installed files give the same entries on every machine.
 */
export class RuntimeBuilder {
  private readonly cache: SourceCache;
  private readonly entries = new Map<InstalledPackage, Promise<string>>();
  private readonly runtimes = new Map<string, Promise<Runtime>>();
  private readonly installed = new InstalledPackages(COORDINATOR_ONLY);
  private readonly engine: InstalledPackage;
  private readonly firstParty: InstalledPackage[];

  constructor(
    private readonly store: Store,
    private readonly log: (message: string) => void,
  ) {
    this.cache = new SourceCache(store, path.join(store.stateDir, 'deploy-cache', 'runtime-packages.json'));
    this.engine = this.installed.load(enginePackageDir());
    this.installed.engine = this.engine;
    this.firstParty = FIRST_PARTY_PLUGINS.map(installedBesideEngine)
      .filter((dir): dir is string => dir !== undefined)
      .map((dir) => this.installed.load(dir));
  }

  /** The runtime with the engine, the first-party plugins and `request.plugins` (package folders), in this machine's store. */
  runtime(request: RuntimeRequest = { plugins: [] }): Promise<Runtime> {
    const extra = [...new Set(request.plugins.map((dir) => this.installed.load(dir)))].filter((p) => p !== this.engine && !this.firstParty.includes(p));
    const key = extra.map((p) => p.dir).sort().join('\0');
    let runtime = this.runtimes.get(key);
    if (runtime === undefined) {
      // A plugin the project installed under a first-party name replaces the one beside the engine.
      const firstParty = this.firstParty.filter((p) => !extra.some((e) => e.name === p.name));
      runtime = this.compose(firstParty, extra);
      this.runtimes.set(key, runtime);
    }
    return runtime;
  }

  private async compose(firstParty: InstalledPackage[], extra: InstalledPackage[]): Promise<Runtime> {
    const plugins = [...firstParty, ...extra];
    const closure = InstalledPackages.closure([this.engine, ...plugins]);
    const entryOf = new Map<InstalledPackage, string>();
    const added: InstalledPackage[] = [];
    for (const pkg of closure) entryOf.set(pkg, await this.packageEntry(pkg, added));
    if (added.length > 0) this.log(`runtime: ${added.length} of its ${closure.length} packages added to the store (${added.map((p) => `${p.name}@${p.version}`).join(', ')})`);
    await this.cache.save();
    const layout = layoutOf(closure, entryOf, this.engine, plugins);
    const packages = [...new Set(entryOf.values())].sort(compareText);
    const name = `dysnomia-runtime-${engineVersion()}`;
    const key = createHash('sha256').update(JSON.stringify({ v: 1, name, packages, layout })).digest('hex');
    let entry = await this.store.lookupIndex('derivations', `runtime-${key}`);
    if (entry === undefined) {
      entry = await this.store.addTree(name, packages, async (out) => composeRuntime(fs, path, layout, (e) => this.store.path(e), out));
      await this.store.recordIndex('derivations', `runtime-${key}`, entry);
    }
    return { entry, packages, layout, plugins: extra.map((p) => `lib/node_modules/${p.name}`) };
  }

  /** A package's store entry, made from its files once and found again through a quick check of them. */
  private packageEntry(pkg: InstalledPackage, added: InstalledPackage[]): Promise<string> {
    let entry = this.entries.get(pkg);
    if (entry === undefined) {
      entry = this.addPackage(pkg, added);
      this.entries.set(pkg, entry);
    }
    return entry;
  }

  private async addPackage(pkg: InstalledPackage, added: InstalledPackage[]): Promise<string> {
    const files = packageFiles(pkg);
    const name = packageEntryName(pkg);
    const check = createHash('sha256').update(`dysnomia-package-1\0${name}\0${pkg.dir}\0`);
    for (const file of files) {
      const info = fs.lstatSync(path.join(pkg.dir, file), { bigint: true });
      check.update(`${file}\0${info.size}\0${info.mode}\0${info.ino}\0${info.mtimeNs}\0${info.ctimeNs}\0`);
    }
    const quick = check.digest('hex');
    const known = await this.cache.lookupKey(quick);
    if (known !== undefined) return known;
    added.push(pkg);
    const entry = await this.store.addTree(name, [], async (out) => {
      for (const file of files) {
        const from = path.join(pkg.dir, file);
        const to = path.join(out, file);
        await mkdir(path.dirname(to), { recursive: true });
        const info = fs.lstatSync(from);
        if (info.isSymbolicLink()) await symlink(await readlink(from), to);
        else {
          await copyFile(from, to);
          // Modes as npm publishes them, whatever this machine's umask made of them: the same files give the same entry everywhere.
          await chmod(to, info.mode & 0o111 ? 0o755 : 0o644);
        }
      }
      if (files.length === 0) await mkdir(out, { recursive: true });
    });
    await this.cache.record(quick, entry);
    return entry;
  }
}

/** `npm-<scope>-<name>-<version>`, a valid store name. */
function packageEntryName(pkg: InstalledPackage): string {
  return sanitizeName(`npm-${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version}`);
}

/**
 * The runtime's tree, as pnpm lays out node_modules: each package's files in
 * lib/node_modules/.store/<name>@<version>/node_modules/<name>, its
 * dependencies as relative links beside it (so Node, which resolves from a
 * package's real folder, finds exactly the versions it was installed with
 * here), and lib/node_modules/<name> links for the engine and the plugins.
 * The engine also gets the plugins beside it, so it finds them by name.
 */
export function layoutOf(closure: InstalledPackage[], entryOf: Map<InstalledPackage, string>, engine: InstalledPackage, plugins: InstalledPackage[]): RuntimeLayout {
  const folderOf = new Map<InstalledPackage, string>();
  const byNameVersion = new Map<string, InstalledPackage[]>();
  for (const pkg of closure) {
    const key = `${pkg.name.replace('/', '+')}@${pkg.version}`;
    byNameVersion.set(key, [...(byNameVersion.get(key) ?? []), pkg]);
  }
  for (const [key, same] of byNameVersion) {
    if (same.length === 1) {
      folderOf.set(same[0]!, key);
      continue;
    }
    // The same name and version installed twice (different contents or dependencies): told apart by what they are.
    const used = new Set<string>();
    for (const pkg of same) {
      const identity = JSON.stringify([entryOf.get(pkg), [...pkg.dependencies].map(([name, dep]) => [name, entryOf.get(dep), dep.version])]);
      let folder = `${key}+${createHash('sha256').update(identity).digest('hex').slice(0, 10)}`;
      for (let n = 2; used.has(folder); n++) folder = `${folder}-${n}`;
      used.add(folder);
      folderOf.set(pkg, folder);
    }
  }
  const home = (pkg: InstalledPackage) => `${RUNTIME_PACKAGES_DIR}/${folderOf.get(pkg)!}/node_modules`;
  const packages: RuntimeLayout['packages'] = [];
  const links: RuntimeLayout['links'] = [];
  const relativeLink = (from: string, to: string) => ({ path: from, target: path.posix.relative(path.posix.dirname(from), to) });
  for (const pkg of closure) {
    packages.push({ path: `${home(pkg)}/${pkg.name}`, entry: entryOf.get(pkg)! });
    const beside = new Map(pkg.dependencies);
    if (pkg === engine) for (const plugin of plugins) beside.set(plugin.name, plugin);
    for (const [name, dependency] of [...beside].sort(([a], [b]) => compareText(a, b))) {
      if (name === pkg.name) continue;
      links.push(relativeLink(`${home(pkg)}/${name}`, `${home(dependency)}/${dependency.name}`));
    }
  }
  for (const pkg of [engine, ...plugins]) links.push(relativeLink(`lib/node_modules/${pkg.name}`, `${home(pkg)}/${pkg.name}`));
  const describe = (pkg: InstalledPackage) => ({ name: pkg.name, version: pkg.version, path: `lib/node_modules/${pkg.name}` });
  const manifest = `${JSON.stringify(
    {
      engine: describe(engine),
      plugins: plugins.map(describe),
      packages: closure.map((pkg) => ({ name: pkg.name, version: pkg.version, entry: entryOf.get(pkg)! })),
    },
    null,
    2,
  )}\n`;
  return { packages, links, manifest };
}
