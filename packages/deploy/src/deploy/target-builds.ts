import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';
import type { AgentAnswers, BuildRecipe } from '@dysnomia/engine/internal/agent/protocol.js';
import { isBuildFunctionComponent, prepareInputs } from '@dysnomia/engine/internal/store/build-function.js';
import type { BuildFunctionComponent } from '@dysnomia/engine/internal/store/build-function.js';
import { isEntryName, sanitizeName } from '@dysnomia/engine/internal/store/entry-name.js';
import { runNpm, TARBALL } from '@dysnomia/engine/internal/store/npm-source.js';
import { removeTree } from '@dysnomia/engine/internal/store/permissions.js';
import type { InfrastructureTarget } from '../models/infrastructure.js';
import type { PackageSource } from '../models/packages.js';
import { currentSystem, systemOf } from '../models/system.js';
import { targetError } from '../remote/agent-link.js';
import type { AgentLink } from '../remote/agent-link.js';
import type { DeployOptions } from './deploy-packages.js';
import { RuntimeBuilder } from '../remote/runtime.js';
import { KnownStateDirs } from './known-state-dirs.js';
import { openSession } from './target-session.js';
import type { TargetSession } from './target-session.js';

/** What can be built on a target: build functions and npm: specs (folders and tarballs are only copied). */
function buildable(source: PackageSource): boolean {
  return isBuildFunctionComponent(source) || (typeof source === 'string' && source.startsWith('npm:'));
}

/**
 * Where a source used on `targets` is built, as disnix-env decides it: on a
 * target (the first of them) with --build-on-targets (`option`), or when
 * their `system` differs from this machine's (`system`), since a build here
 * would be for the wrong system; else here (undefined). One store entry
 * serves every target of a service, so targets of different systems cannot
 * share a buildable source.
 */
export function buildTargetFor(
  source: PackageSource,
  targets: InfrastructureTarget[],
  options: { buildOnTargets: boolean; label: string },
): { target: InfrastructureTarget; why: 'option' | 'system' } | undefined {
  if (!buildable(source) || targets.length === 0) return undefined;
  const systems = [...new Set(targets.map(systemOf))];
  if (systems.length > 1) {
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `${options.label}: built once for targets of different systems (${systems.join(', ')}): one build cannot serve them all; distribute it to targets of one system`);
  }
  if (systems[0] !== currentSystem()) return { target: targets[0]!, why: 'system' };
  return options.buildOnTargets ? { target: targets[0]!, why: 'option' } : undefined;
}

export type TargetBuildOptions = Pick<DeployOptions, 'store' | 'reporter' | 'acceptNewHostKeys' | 'knownHostsFile' | 'log' | 'timeLimits' | 'cwd'> & {
  buildOnTargets: boolean;
  debug?: boolean;
};

/** Builds sources on this machine (`here`: the unchanged coordinator path). */
export interface SourceBuilder {
  build(source: PackageSource): Promise<string>;
}

/**
 * Builds delegated to targets (disnix-delegate's job): the inputs' closure is
 * sent, the target builds through its agent (`build` request; its output
 * shown as TARGET: SERVICE: LINE), and the result comes back into this
 * machine's store, so the deployment then goes on as if it was built here.
 * A source is built once per target (with the option) or per system (a
 * target of another system: on the first target of it, the others get the
 * result as any entry); sessions stay open until close().
 */
export class TargetBuilds {
  private readonly sessions = new Map<string, Promise<{ session: TargetSession; link: AgentLink }>>();
  private readonly built = new Map<PackageSource, Map<string, Promise<string>>>();
  private readonly packed = new Map<string, Promise<string>>();
  /** system → the target that builds what is delegated for that system. */
  private readonly builderOf = new Map<string, InfrastructureTarget>();
  /** The engine and the first-party plugins: all a build needs on a target. */
  private runtimes: RuntimeBuilder | undefined;

  constructor(
    private readonly options: TargetBuildOptions,
    private readonly here: SourceBuilder,
  ) {}

  /** The store entry of a source used on `targets`; `label` names it in messages and output lines (the service). */
  async build(source: PackageSource, targets: InfrastructureTarget[], label: string): Promise<string> {
    const placed = buildTargetFor(source, targets, { buildOnTargets: this.options.buildOnTargets, label });
    if (placed === undefined) return this.here.build(source);
    if (placed.why === 'option') return this.buildOn(placed.target, source, label);
    // Built for a system, not for a target: the first target of that system builds for all of them.
    const system = systemOf(placed.target);
    const builder = this.builderOf.get(system) ?? placed.target;
    this.builderOf.set(system, builder);
    return this.buildOn(builder, source, label);
  }

  close(): void {
    for (const opened of this.sessions.values()) opened.then(({ session }) => session.close(), () => undefined);
    this.sessions.clear();
  }

  private buildOn(target: InfrastructureTarget, source: PackageSource, label: string): Promise<string> {
    const perTarget = this.built.get(source) ?? new Map<string, Promise<string>>();
    this.built.set(source, perTarget);
    let entry = perTarget.get(target.name);
    if (entry === undefined) {
      entry = this.buildOnce(target, source, label);
      perTarget.set(target.name, entry);
    }
    return entry;
  }

  private async buildOnce(target: InfrastructureTarget, source: PackageSource, label: string): Promise<string> {
    const { store, reporter } = this.options;
    const { recipe, inputs } = typeof source === 'string' ? await this.npmRecipe(source.slice('npm:'.length)) : await this.functionRecipe(target, source, label);
    const { session, link } = await this.open(target);
    await session.send(await session.missing(await store.closure(inputs)), () => undefined);
    const what = typeof source === 'string' ? source : `component:${source.name}`;
    const answer = await link.request({ kind: 'build', component: recipe }, (line) => reporter.emit({ event: 'output', target: target.name, service: label, action: 'build', line }));
    if (!answer.ok) throw targetError(target.name, answer);
    const { entry } = answer.result as AgentAnswers['build'];
    if (typeof entry !== 'string' || !isEntryName(entry)) throw new DysnomiaError('ERR_DYSNOMIA_AGENT', `target "${target.name}": building ${what} answered no store entry: ${JSON.stringify(entry)}`, { exitCode: EXIT_OPERATION_FAILED });
    if (!(await store.has(entry))) await session.fetch([entry]);
    reporter.emit({ event: 'built', source: what, entry, target: target.name });
    return entry;
  }

  /** The function's source text and canonical inputs; components among the inputs are built on the same target first. */
  private async functionRecipe(target: InfrastructureTarget, def: BuildFunctionComponent, label: string): Promise<{ recipe: BuildRecipe; inputs: string[] }> {
    const { store } = this.options;
    const prepared = await prepareInputs(def, store.dir, (entry) => store.path(entry), (nested) => this.buildOn(target, nested, label));
    return { recipe: { recipe: 'function', name: def.name, source: def.build.toString(), inputs: prepared.canonical, key: prepared.key }, inputs: prepared.references };
  }

  /**
   * The package as a tarball in a store entry of its own: a local tarball as
   * it is, a registry spec packed here (this machine's npm and its cache), so
   * the target installs it without a registry.
   */
  private async npmRecipe(spec: string): Promise<{ recipe: BuildRecipe; inputs: string[] }> {
    let packed = this.packed.get(spec);
    if (packed === undefined) {
      packed = this.pack(spec);
      this.packed.set(spec, packed);
    }
    const tarball = await packed;
    return { recipe: { recipe: 'npm', tarball }, inputs: [tarball.split('/')[0]!] };
  }

  private async pack(spec: string): Promise<string> {
    const { store, cwd } = this.options;
    const work = await store.temporaryFolder();
    try {
      let tarball = path.resolve(cwd, spec);
      if (!TARBALL.test(spec)) {
        this.options.log(`npm pack ${spec}`);
        const packed = await runNpm(['pack', spec, '--pack-destination', work, '--json'], cwd, `npm:${spec}: `);
        tarball = path.join(work, path.basename((JSON.parse(packed) as Array<{ filename: string }>)[0]!.filename));
      }
      const file = path.basename(tarball);
      const entry = await store.addTree(sanitizeName(`npm-pack-${file.replace(TARBALL, '')}`), [], async (out) => {
        await mkdir(out);
        await copyFile(tarball, path.join(out, file));
      });
      return `${entry}/${file}`;
    } finally {
      await removeTree(work);
    }
  }

  /** A session to the target with its runtime, and its agent. */
  private open(target: InfrastructureTarget): Promise<{ session: TargetSession; link: AgentLink }> {
    let opened = this.sessions.get(target.name);
    if (opened === undefined) {
      opened = this.connect(target);
      this.sessions.set(target.name, opened);
    }
    return opened;
  }

  private async connect(target: InfrastructureTarget): Promise<{ session: TargetSession; link: AgentLink }> {
    const { store, reporter } = this.options;
    const session = openSession(target, {
      store,
      acceptNewHostKeys: this.options.acceptNewHostKeys,
      ...(target.clientInterface === 'ssh' ? { runtime: await (this.runtimes ??= new RuntimeBuilder(store, this.options.log)).runtime() } : { localPlugins: [] }),
      ...(this.options.knownHostsFile ? { knownHostsFile: this.options.knownHostsFile } : {}),
      ...(this.options.debug ? { debug: true } : {}),
      ...(this.options.timeLimits ? { timeLimits: this.options.timeLimits } : {}),
      knownStateDirs: KnownStateDirs.of(store.stateDir),
    });
    try {
      await session.connect({}, true);
      await session.ensureRuntime((phase, bytes, packages) => reporter.emit({ event: 'bootstrap', target: target.name, phase, bytes, packages }));
      return { session, link: await session.agent() };
    } catch (error) {
      session.close();
      throw error;
    }
  }
}
