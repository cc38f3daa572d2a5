import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { resolveComponent, componentNameOf } from './components.js';
import { loadConfig } from './config.js';
import type { DysnomiaConfig } from './config.js';
import { findContainerFile, listContainerFiles, readContainer } from './containers/container-files.js';
import { propertiesToEnvironment } from './containers/parse-container-file.js';
import { DysnomiaError, PluginError } from './errors.js';
import { createHooks, tapOwnerOf } from './hooks.js';
import type { EngineHooks } from './hooks.js';
import { createLogger } from './logger.js';
import { reasonToSkip, recordSuccess } from './markers.js';
import type { LogLevel } from './logger.js';
import { importPluginPackage, importPlugins } from './modules/load-plugin.js';
import type { PluginSource } from './modules/load-plugin.js';
import type { LoadedModule } from './modules/loaded-module.js';
import { isPathLike, ModuleResolver, pluginPackageNames } from './modules/module-resolver.js';
import { resolvePackageFrom } from './modules/npm-resolve.js';
import { NpmResolutionCache } from './modules/npm-resolution-cache.js';
import { assertEngineCompatible, OPERATION_METHODS } from './plugin.js';
import type { Container, ContainerProperties, DysnomiaPlugin, Logger, Operation, OperationContext, OperationResult, ProcessRunner } from './plugin.js';
import { createProcessRunner, runChild } from './process-runner.js';
import { SearchPaths } from './search-paths.js';
import { nameProblem } from './names.js';
import { shellQuote } from './shell-quote.js';
import { didYouMean } from './suggest.js';
import { chooseStateDir, StateDir } from './state-dir.js';

export interface EngineOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** A config file to use instead of searching for one. */
  configFile?: string;
  /** A config already loaded (skips the search). */
  config?: DysnomiaConfig;
  /** Overrides DYSNOMIA_STATEDIR and the config's stateDir. */
  stateDir?: string;
  /** Where modules' output goes (default: this process's). */
  stdout?: Writable;
  stderr?: Writable;
  logLevel?: LogLevel;
  signal?: AbortSignal;
  /** Plugins given in-process; they come before every other way of finding a type. */
  plugins?: DysnomiaPlugin[];
  /** Plugins (package names or absolute paths) loaded as if the config listed them, after those it lists. */
  listedPlugins?: string[];
}

export interface OperationRequest {
  operation: Operation;
  component: string;
  /** A container name or path; with useEnvironment, the container's name (default: the type). */
  container?: string;
  type?: string;
  /** Dysnomia's --environment: the container's properties are the caller's environment. */
  useEnvironment?: boolean;
  /**
   * Properties of the container named `container` as a deployment model gives
   * them (Disnix passes the infrastructure's): they override those of the
   * container's file when one is found by name, and stand alone when none is.
   */
  containerProperties?: ContainerProperties;
}

/**
 * What the operations of one batch share (the services of a deployment's
 * lock or unlock on a target, one `service-locks` request): each container
 * (by name and properties) and each type is resolved once for the batch, not
 * once per service, so the resolution hooks (`resolveContainer`,
 * `resolveModule`, `moduleLoaded`) fire once per batch for each. Every
 * operation still gets its own container object.
 */
export class Resolutions {
  readonly containers = new Map<string, Promise<Container>>();
  readonly modules = new Map<string, Promise<LoadedModule>>();
}

/** `make()`, or what it gave for `key` before in this batch (without a batch: `make()` each time). */
export function remembered<T>(cache: Map<string, Promise<T>> | undefined, key: string, make: () => Promise<T>): Promise<T> {
  if (cache === undefined) return make();
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    cache.set(key, value);
  }
  return value;
}

export interface OperationOutcome {
  /** What the plugin returned (capture's report, for example). */
  result: OperationResult;
  /** Why the engine did not call the plugin, when it did not. */
  skipped?: string;
  module: LoadedModule;
  context: OperationContext;
}

const ENGINE_DIR = path.resolve(fileURLToPath(new URL('..', import.meta.url)));

export class Engine {
  readonly hooks: EngineHooks;
  readonly config: DysnomiaConfig;
  readonly stateDir: StateDir;
  readonly searchPaths: SearchPaths;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
  private readonly stdout: Writable;
  private readonly stderr: Writable;
  private readonly signal: AbortSignal;
  /** ctx.run: one runner for every operation of this engine. */
  private readonly processRunner: ProcessRunner;
  /** Folders npm packages are resolved from: the config's, the working folder, the engine's own install. */
  readonly npmDirs: string[];
  private readonly applied = new WeakSet<DysnomiaPlugin>();
  private readonly configPlugins: PluginSource[];

  private constructor(options: EngineOptions, config: DysnomiaConfig, configPlugins: PluginSource[]) {
    this.cwd = options.cwd ?? process.cwd();
    this.env = options.env ?? process.env;
    this.config = config;
    this.configPlugins = configPlugins;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.log = createLogger(this.stderr, options.logLevel ?? 'info');
    this.signal = options.signal ?? new AbortController().signal;
    this.processRunner = createProcessRunner({ env: this.env, cwd: this.cwd, stdout: this.stdout, stderr: this.stderr, signal: this.signal, log: this.log });
    this.stateDir = new StateDir(path.resolve(this.cwd, options.stateDir ?? chooseStateDir(config.stateDir, this.env)));
    this.searchPaths = new SearchPaths(this.env, config, this.stateDir, this.cwd);
    this.npmDirs = [...new Set([config.dir, this.cwd, ENGINE_DIR])];
    this.hooks = createHooks();
    this.installBuiltins(options.plugins ?? []);
    for (const plugin of options.plugins ?? []) this.applyPlugin(plugin, plugin.meta?.name ?? plugin.type);
    for (const source of configPlugins) for (const plugin of source.plugins) this.applyPlugin(plugin, plugin.meta?.name ?? source.name);
  }

  /** Loads the config (unless given) and the plugins it lists, then builds the engine. */
  static async create(options: EngineOptions = {}): Promise<Engine> {
    const cwd = options.cwd ?? process.cwd();
    const loaded = options.config ?? (await loadConfig(cwd, options.configFile));
    const config = options.listedPlugins?.length ? { ...loaded, plugins: [...loaded.plugins, ...options.listedPlugins.filter((p) => !loaded.plugins.includes(p))] } : loaded;
    const configPlugins = await loadConfigPlugins(config, cwd);
    for (const plugin of options.plugins ?? []) assertEngineCompatible(plugin, plugin.meta?.name ?? plugin.type);
    return new Engine({ ...options, cwd }, config, configPlugins);
  }

  private installBuiltins(registered: DysnomiaPlugin[]): void {
    this.hooks.resolveModule.tap({ name: 'dysnomia:registered', stage: -10 }, (request) => {
      const plugin = registered.find((p) => p.type === request.type);
      return plugin && { kind: 'plugin', type: plugin.type, name: plugin.meta?.name ?? plugin.type, location: '(in process)', foundBy: 'registered', plugin };
    });
    new ModuleResolver({
      cwd: this.cwd,
      searchPaths: this.searchPaths,
      configPlugins: this.configPlugins,
      npmDirs: this.npmDirs,
      npmCache: new NpmResolutionCache(this.stateDir.npmResolutionCache),
    }).install(this.hooks);
    this.hooks.resolveContainer.tapPromise({ name: 'dysnomia:path', stage: 0 }, async (request) =>
      isPathLike(request.container) ? readContainer(path.resolve(this.cwd, request.container), request.container) : undefined,
    );
    this.hooks.resolveContainer.tapPromise({ name: 'dysnomia:containers-path', stage: 10 }, async (request) => {
      const file = await findContainerFile(await this.searchPaths.containersDirs(), request.container, request.searched);
      return file === undefined ? undefined : readContainer(file, request.container);
    });
  }

  private applyPlugin(plugin: DysnomiaPlugin, name: string): void {
    if (!plugin.apply || this.applied.has(plugin)) return;
    this.applied.add(plugin);
    tapOwnerOf(this.hooks).applying(name, () => plugin.apply!(this.hooks));
  }

  /** Finds the module for a type (or a module path), refusing one whose engine range excludes this engine. */
  async resolveModule(type: string): Promise<LoadedModule> {
    if (!isPathLike(type) && !/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(type)) {
      throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `--type ${JSON.stringify(type)}: not a type name (letters, digits, . _ -) or a path (/… or ./…)`);
    }
    const searched: string[] = [];
    const module = await this.hooks.resolveModule.promise({ type, searched });
    if (!module) {
      const packages = pluginPackageNames(type);
      const suggestion = isPathLike(type) ? '' : didYouMean(type, await this.knownTypes());
      throw new DysnomiaError(
        'ERR_DYSNOMIA_MODULE_NOT_FOUND',
        `no module found for type "${type}"${suggestion || '.'} Searched:\n${searched.map((s) => `  - ${s}`).join('\n')}\n` +
          `Install a plugin for it (npm install ${packages[0]}, or ${packages[1]}), or set DYSNOMIA_MODULES_PATH.`,
      );
    }
    // An executable module speaks Dysnomia's command-line protocol, not the plugin API: no range to check.
    if (module.kind === 'plugin') assertEngineCompatible(module.plugin, module.name);
    this.hooks.moduleLoaded.call(module);
    this.applyPlugin(module.plugin, module.name);
    return module;
  }

  async resolveContainer(container: string): Promise<Container> {
    if (container === '') throw new DysnomiaError('ERR_DYSNOMIA_USAGE', '--container: empty name');
    if (!isPathLike(container) && container.includes('/')) {
      throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `--container ${container}: a name has no "/"; write a path as ./${container} or /…`);
    }
    const searched: string[] = [];
    const found = await this.hooks.resolveContainer.promise({ container, searched });
    if (!found) {
      const suggestion = didYouMean(container, await this.knownContainers());
      throw new DysnomiaError(
        'ERR_DYSNOMIA_CONTAINER_NOT_FOUND',
        `no container configuration found for "${container}"${suggestion || '.'} Searched:\n${searched.map((s) => `  - ${s}`).join('\n')}\n` +
          'Give a path (--container ./file), or set DYSNOMIA_CONTAINERS_PATH.',
      );
    }
    return found;
  }

  /** The types this engine can find (as `dysnomia plugins` lists them), for a suggestion; none when listing fails. */
  private async knownTypes(): Promise<string[]> {
    try {
      const { discoverModules } = await import('./modules/discover.js');
      return (await discoverModules(this, this.configPlugins)).flatMap((m) => (m.type === undefined ? [] : [m.type]));
    } catch {
      return [];
    }
  }

  /** The container names found in the containers folders, for a suggestion. */
  private async knownContainers(): Promise<string[]> {
    return [...(await listContainerFiles(await this.searchPaths.containersDirs()).catch(() => new Map<string, string>())).keys()];
  }

  /** A container named by a deployment model: the model's properties over the file found by that name, if any. */
  private async modelContainer(name: string, properties: ContainerProperties): Promise<Container> {
    // A deployment names a container, never a path: it is looked up only inside the containers folders.
    const badName = nameProblem(name, 'container');
    if (badName) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', badName);
    const found = await this.hooks.resolveContainer.promise({ container: name, searched: [] });
    if (!found) return { name, properties: { ...properties }, argument: name };
    return { ...found, properties: { ...found.properties, ...properties } };
  }

  /** Works out container, type, module and component for a request; runs nothing. */
  async prepare(request: Pick<OperationRequest, 'component' | 'container' | 'type' | 'useEnvironment' | 'containerProperties'> & { operation: Operation | 'shell' }, resolutions?: Resolutions) {
    let container: Container;
    if (request.useEnvironment) {
      const name = request.container ?? request.type;
      if (!name) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', '--environment needs --type TYPE (or --container NAME)');
      container = { name, properties: propertiesFromEnvironment(this.env), argument: name, fromEnvironment: true };
    } else {
      if (!request.container) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'no container given: pass --container NAME|PATH, or --environment with --type TYPE');
      const { container: name, containerProperties: properties } = request;
      const found = await remembered(resolutions?.containers, JSON.stringify([name, properties ?? null]), () => (properties ? this.modelContainer(name, properties) : this.resolveContainer(name)));
      // A batch shares the resolution, never the object: a plugin may change its operation's container.
      container = resolutions === undefined ? found : { ...found, properties: { ...found.properties } };
    }
    const containerType = container.fromEnvironment ? undefined : container.properties.type;
    // A container names its type; only --type on the command line may be a path (a container may come from a deployed component).
    if (request.type === undefined && containerType !== undefined) {
      const badType = nameProblem(containerType, 'type');
      if (badType) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `${container.file ?? container.name}: type=: ${badType}`);
    }
    const type = request.type ?? (typeof containerType === 'string' && containerType !== '' ? containerType : undefined);
    if (!type && container.fromEnvironment) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', '--environment needs --type TYPE');
    if (!type) {
      throw new DysnomiaError(
        'ERR_DYSNOMIA_USAGE',
        `${container.file ?? container.name}: the container names no type; add a line type=TYPE to it, or pass --type TYPE`,
      );
    }
    const module = await remembered(resolutions?.modules, type, () => this.resolveModule(type));
    const component = await resolveComponent(request.component, container.name, {
      cwd: this.cwd,
      componentsDirs: this.searchPaths.componentsDirs(),
      mustExist: request.operation === 'activate' || request.operation === 'shell',
    });
    const componentName = componentNameOf(component);
    if (componentName === '' || componentName === '.' || componentName === '..') {
      throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `--component ${request.component}: a component is a file or folder with a name, not ${component}`);
    }
    const context: OperationContext = {
      operation: request.operation,
      type: module.type,
      component,
      componentName,
      container,
      stateDir: this.stateDir.root,
      env: this.env,
      log: this.log,
      signal: this.signal,
      run: this.processRunner,
    };
    return { module, context };
  }

  /** Runs one operation on a component in a container, the way `dysnomia --operation` does; `resolutions`: the batch it is one of. */
  async run(request: OperationRequest, resolutions?: Resolutions): Promise<OperationOutcome> {
    const { module, context } = await this.prepare(request, resolutions);
    const { plugin } = module;
    const stateful = plugin.stateful ?? false;
    const skipped = await reasonToSkip(this.stateDir, request.operation, context, stateful);
    if (skipped) {
      this.log.debug(`${request.operation} ${context.componentName} in ${context.container.name}: ${skipped}`);
      return { result: undefined, skipped, module, context };
    }
    const method = plugin[OPERATION_METHODS[request.operation]] as ((ctx: OperationContext) => unknown) | undefined;
    let result: OperationResult;
    try {
      await this.hooks.beforeOperation.promise(context);
      result = method ? await method.call(plugin, context) : undefined;
    } catch (error) {
      // Every failure names the plugin and the operation; a DysnomiaError from the plugin (bad input) keeps its code and exit status.
      const kind = module.kind === 'executable' ? 'module' : 'plugin';
      const failure =
        error instanceof PluginError
          ? error
          : error instanceof DysnomiaError
            ? new PluginError(module.name, request.operation, error, { code: error.code, kind, exitCode: error.exitCode })
            : new PluginError(module.name, request.operation, error, { kind });
      await this.hooks.operationFailed.promise(context, failure);
      throw failure;
    }
    await recordSuccess(this.stateDir, request.operation, context, { kind: module.kind === 'executable' ? 'executable' : 'plugin', stateful });
    await this.hooks.afterOperation.promise(context, result);
    return { result, module, context, ...(method ? {} : { skipped: `type ${module.type} has no ${request.operation} operation` }) };
  }

  /**
   * Dysnomia's --shell: a bash session with the container's properties in its
   * environment, set up by the module. With `command`, runs it and returns its
   * exit status; otherwise an interactive session on this terminal.
   */
  async shell(request: Pick<OperationRequest, 'component' | 'container' | 'type' | 'useEnvironment' | 'containerProperties'>, command?: string): Promise<number> {
    const { module, context } = await this.prepare({ ...request, operation: 'shell' });
    const setup = (await module.plugin.shell?.(context)) ?? {};
    const env = {
      ...this.env,
      ...(context.container.fromEnvironment ? {} : propertiesToEnvironment(context.container.properties)),
      ...setup.env,
      DYSNOMIA_STATEDIR: context.stateDir,
      this_dysnomia_module: module.location,
      this_component: context.component,
      this_container: context.container.file ?? context.container.argument,
    };
    const help = [
      setup.help,
      'General environment variables:',
      'this_dysnomia_module     Path to the Dysnomia module',
      'this_component           Path to the mutable component',
      'this_container           Path to the container configuration file',
    ].filter(Boolean);
    if (command !== undefined) {
      const script = [setup.script, command].filter(Boolean).join('\n');
      return exitStatus(await runChild('bash', ['--noprofile', '--norc', '-c', script], { env, cwd: this.cwd, stdio: 'inherit' }));
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-shell-'));
    try {
      const rc = [
        '[ -e ~/.bashrc ] && source ~/.bashrc',
        'PS1="\\n\\[\\033[1;32m\\][dysnomia-shell:\\w]\\$\\[\\033[0m\\] "',
        setup.script ?? '',
        ...help.map((line) => `echo ${shellQuote(line ?? '')}`),
      ].join('\n');
      await writeFile(path.join(dir, 'rc'), rc, { mode: 0o600 });
      return exitStatus(await runChild('bash', ['--rcfile', path.join(dir, 'rc'), '-i'], { env, cwd: this.cwd, stdio: 'inherit' }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

function exitStatus(outcome: Awaited<ReturnType<typeof runChild>>): number {
  if (outcome.spawnError) throw new DysnomiaError('ERR_DYSNOMIA_MODULE_FAILED', `cannot start bash: ${outcome.spawnError.message}`, { exitCode: 1 });
  // A session ended by a signal exits as a shell reports it: 128 + the signal's number.
  return outcome.exitCode ?? 128 + (outcome.signal ? (os.constants.signals[outcome.signal] ?? 0) : 0);
}

function propertiesFromEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** A plugin the config lists: a path (file or package folder), or a package name resolved from the project. */
/** The plugins the config lists, imported (from the config's folder, `cwd`, then the engine's install) and checked against this engine. */
export async function loadConfigPlugins(config: DysnomiaConfig, cwd: string): Promise<PluginSource[]> {
  const sources = await Promise.all(config.plugins.map((entry) => loadListedPlugin(entry, [config.dir, cwd, ENGINE_DIR])));
  for (const source of sources) for (const plugin of source.plugins) assertEngineCompatible(plugin, source.name);
  return sources;
}

export async function loadListedPlugin(entry: string, fromDirs: string[]): Promise<PluginSource> {
  if (path.isAbsolute(entry)) {
    return /\.(m?js)$/.test(entry) ? importPlugins(entry, entry) : importPluginPackage(entry);
  }
  for (const dir of fromDirs) {
    const resolved = await resolvePackageFrom(entry, dir);
    if (resolved) return importPlugins(resolved.entry, resolved.pkg.name ?? entry, resolved.pkg.version);
  }
  throw new DysnomiaError('ERR_DYSNOMIA_CONFIG', `the config lists plugin "${entry}", but it is not installed (searched from ${fromDirs.join(', ')}); run npm install ${entry}`);
}
