import path from 'node:path';
import { DysnomiaError, EXIT_OPERATION_FAILED, usageError as usage } from '@dysnomia/engine/internal/errors.js';
import type { Store } from '@dysnomia/engine/internal/store/store.js';
import { closeAll, openSessions } from '../deploy/deploy-packages.js';
import type { DeployedMapping } from '../deploy/deployment.js';
import type { Reporter } from '../deploy/progress.js';
import type { DeploymentRecords } from '../deploy/state/state-backend.js';
import type { Infrastructure } from '../models/infrastructure.js';
import { ask } from '../remote/agent-link.js';
import type { Terminal } from '../remote/terminal.js';
import type { TimeLimits } from '../remote/time-limits.js';

export interface DiagnoseRequest {
  service: string;
  target?: string;
  container?: string;
  /** --command: run this instead of an interactive shell. */
  command?: string;
}


const list = (names: Iterable<string>) => [...new Set(names)].sort().join(', ');

/**
 * The one mapping of the recorded deployment a diagnose session is about:
 * the service, narrowed by target and container. An unknown service, target
 * or container, or a choice left open (a service on several targets without
 * -t, in several containers without -C), is bad usage naming what there is.
 */
export function chooseMapping(mappings: DeployedMapping[], request: DiagnoseRequest, profile: string): DeployedMapping {
  const ofService = mappings.filter((m) => m.service === request.service);
  if (ofService.length === 0) {
    throw usage(`service "${request.service}" is not in the deployment of profile "${profile}" (its services: ${list(mappings.map((m) => m.service)) || 'none'})`);
  }
  const onTarget = request.target === undefined ? ofService : ofService.filter((m) => m.target === request.target);
  if (onTarget.length === 0) throw usage(`service "${request.service}" does not run on target "${request.target}" (it runs on: ${list(ofService.map((m) => m.target))})`);
  const targets = new Set(onTarget.map((m) => m.target));
  if (targets.size > 1) throw usage(`service "${request.service}" runs on several targets: ${list(targets)}; choose one with -t TARGET`);
  const inContainer = request.container === undefined ? onTarget : onTarget.filter((m) => m.container === request.container);
  if (inContainer.length === 0) throw usage(`service "${request.service}" has no container "${request.container}" on target "${onTarget[0]!.target}" (its containers: ${list(onTarget.map((m) => m.container))})`);
  if (inContainer.length > 1) throw usage(`service "${request.service}" runs in several containers on target "${onTarget[0]!.target}": ${list(inContainer.map((m) => m.container))}; choose one with -C CONTAINER`);
  return inContainer[0]!;
}

export interface DiagnoseOptions {
  records: DeploymentRecords;
  profile: string;
  /** -i: how to reach the targets, over what the record keeps. */
  infrastructure?: Infrastructure;
  store: Store;
  reporter: Reporter;
  acceptNewHostKeys: boolean;
  knownHostsFile?: string;
  timeLimits?: TimeLimits;
  log: (message: string) => void;
  terminal: Terminal;
}

/**
 * disnix-diagnose: a shell on the service's target, in its container's
 * environment, set up by its module, as `dysnomia --shell` gives one
 * locally. Which target, container, type and component come from the
 * coordinator's record of the profile's current deployment; the container's
 * properties as the models gave them reach the target's engine through a
 * private file its agent writes (and removes when the session ends).
 * Resolves with the shell's (or the command's) exit status.
 */
export async function diagnose(request: DiagnoseRequest, options: DiagnoseOptions): Promise<number> {
  const manifest = await options.records.current();
  if (manifest === undefined) throw usage(`profile "${options.profile}" has no recorded deployment here: deploy it first (or pass -p PROFILE)`);
  const mapping = chooseMapping(manifest.mappings, request, options.profile);
  const settings = options.infrastructure?.[mapping.target] ?? manifest.targets[mapping.target];
  if (settings === undefined) throw usage(`target "${mapping.target}" is in neither the infrastructure model nor the record of profile "${options.profile}"`);
  const failed = new Map<string, string>();
  const sessions = await openSessions(
    {
      infrastructure: { [mapping.target]: settings },
      targets: [mapping.target],
      store: options.store,
      reporter: options.reporter,
      maxConcurrent: 1,
      acceptNewHostKeys: options.acceptNewHostKeys,
      ...(options.knownHostsFile ? { knownHostsFile: options.knownHostsFile } : {}),
      ...(options.timeLimits ? { timeLimits: options.timeLimits } : {}),
      log: options.log,
    },
    failed,
    { install: true },
  );
  try {
    const session = sessions.get(mapping.target);
    if (session === undefined) throw new DysnomiaError('ERR_DYSNOMIA_UNREACHABLE', failed.get(mapping.target) ?? `target "${mapping.target}" could not be reached`, { exitCode: EXIT_OPERATION_FAILED });
    const agent = await session.agent();
    const missing = (await ask(agent, mapping.target, { kind: 'missing', entries: [mapping.entry] })).missing;
    if (missing.length > 0) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `target "${mapping.target}": the component of service "${mapping.service}" (${mapping.entry}) is not in its store: redeploy the profile`, { exitCode: EXIT_OPERATION_FAILED });
    const properties = mapping.properties === undefined ? undefined : (await ask(agent, mapping.target, { kind: 'shell-properties', properties: mapping.properties })).file;
    const args = [
      '--shell',
      '--component',
      path.posix.join(session.stateDir, 'store', mapping.entry),
      '--container',
      mapping.container,
      '--type',
      mapping.type,
      ...(properties === undefined ? [] : ['--container-properties', properties]),
      ...(request.command === undefined ? [] : ['--command', request.command]),
    ];
    return await session.runEngine(args, options.terminal);
  } finally {
    closeAll(sessions);
  }
}
