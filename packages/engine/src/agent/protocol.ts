import type { ContainerProperties, Operation } from '../plugin.js';
import type { MachineDescription } from '../containers/expression.js';
import type { LockHolder } from '../locks/profile-lock.js';
import type { DeployedMapping } from '../deployment-types.js';
import type { ErrorCode } from '../errors.js';
import type { GenerationSelector } from '../profiles/profiles.js';

/** What a coordinator asks of a profile on a target (the `profile` request), and what each answers. */
export type ProfileAction =
  | { action: 'current' }
  | { action: 'generations' }
  | { action: 'install'; entries: string[]; etcOnly: string[] }
  | { action: 'undo-install'; previous: number | null; generation: number }
  | { action: 'rollback' }
  | { action: 'switch'; generation: number }
  | { action: 'delete'; which: GenerationSelector };

/** What a coordinator asks of the target's snapshot store (the `snapshots` request); paths are CONTAINER/COMPONENT/ID. */
export type SnapshotsAction =
  | { action: 'query'; which: 'all' | 'latest'; container?: string; component?: string }
  | { action: 'missing'; paths: string[] }
  /** A snapshot the target has becomes the latest generation of its component again. */
  | { action: 'adopt'; path: string }
  | { action: 'gc'; keep: number; container?: string; component?: string };

export interface SnapshotsAnswers {
  query: { paths: string[] };
  missing: { missing: string[] };
  adopt: { path: string; generation: number };
  gc: { generations: string[]; snapshots: string[] };
}

export interface GenerationInfo {
  generation: number;
  current: boolean;
  created: string;
}

export interface ProfileAnswers {
  /** The current generation and its packages (entry names); null: no profile. */
  current: { generation: number; packages: string[] } | null;
  generations: GenerationInfo[];
  install: { generation: number; changed: boolean };
  'undo-install': { undone: true };
  rollback: { generation: number };
  switch: { generation: number };
  delete: { deleted: number[] };
}

/**
 * What a coordinator asks a target's agent (`dysnomia agent`, one JSON
 * object per line on its stdin; one answer per line on its stdout, matched by
 * id). Components are store entries of the target's own store.
 */
export type AgentRequest =
  /**
   * `moduleEntry`: a store entry of this deployment that ships the type's module (the target has no other).
   * `record`: the deployment's mapping, which the target's own record of the profile gets (activate) or loses (deactivate) once the operation succeeded.
   */
  | {
      id: number;
      kind: 'operation';
      operation: Operation;
      type: string;
      entry: string;
      container: string;
      properties?: ContainerProperties;
      moduleEntry?: string;
      record?: { profile: string; mapping: DeployedMapping };
    }
  /** The target's own record of what the profile has activated on it (and its services of type package). */
  | { id: number; kind: 'activations'; profile: string }
  /** After the profile switched: its services of type package, kept in the target's record beside the activated ones. */
  | { id: number; kind: 'record-packages'; profile: string; mappings: DeployedMapping[] }
  /** What this target runs: the engine, its modules, and per profile (one, or every one it has) the generation, packages and services. */
  | { id: number; kind: 'query'; profile?: string }
  | { id: number; kind: 'describe' }
  | { id: number; kind: 'lock'; profile: string; holder: LockHolder; breaking?: LockHolder }
  | { id: number; kind: 'unlock'; profile: string; holder: LockHolder }
  /** Of these store entries, those the target's store lacks. */
  | { id: number; kind: 'missing'; entries: string[] }
  /**
   * Holds these entries from the store's garbage collection for as long as
   * this agent runs (a deployment's, from before its transfer to its profile
   * switch); waits while a collection runs; answers which of them are missing.
   */
  | { id: number; kind: 'hold'; entries: string[] }
  /**
   * Imports a store archive into the target's store (every entry verified by
   * its hash before it is added; a damaged or cut-off archive adds nothing).
   * The archive follows this line on the agent's input, in frames
   * (archive-frames.ts); answers the entries the archive held.
   */
  | { id: number; kind: 'import' }
  /**
   * Writes a container's properties (a deployment's) to a private file for
   * `dysnomia --shell --container-properties FILE` (dysnomia diagnose); the
   * file goes when this agent ends.
   */
  | { id: number; kind: 'shell-properties'; properties: ContainerProperties }
  /** The machine's garbage collection (collect-garbage -i): `deleteOldGenerations` first, of `profile` only when given. */
  | { id: number; kind: 'collect-garbage'; deleteOldGenerations: boolean; profile?: string }
  | ({ id: number; kind: 'profile'; profile: string } & ProfileAction)
  /** Builds a component in the target's store (its inputs are there already); what the build prints comes as output lines. */
  | { id: number; kind: 'build'; component: BuildRecipe }
  | ({ id: number; kind: 'snapshots' } & SnapshotsAction)
  /**
   * Changes the target's record of the profile without an operation: a
   * migrated service's mappings are recorded only once its state has moved
   * (its operations ran without `record`), so a re-run after an interruption
   * plans the move again.
   */
  | { id: number; kind: 'record'; profile: string; activated?: DeployedMapping; deactivated?: string }
  /**
   * Runs the `lock` (or `unlock`) operation of each of these services, at
   * most `parallel` at once: a transition asks every service a target runs
   * in one request. Lock: after a refusal no other starts, and those this
   * request locked are unlocked again before it answers. Unlock: every one
   * is asked, whatever the others answer. What each prints comes as output
   * lines carrying its `key`.
   */
  | { id: number; kind: 'service-locks'; operation: 'lock' | 'unlock'; services: ServiceOperation[]; parallel: number };

/** One service of a `service-locks` request: what an `operation` request names, and a key (its mapping's id) the answer and its output lines name it by. */
export interface ServiceOperation {
  key: string;
  type: string;
  entry: string;
  container: string;
  properties?: ContainerProperties;
  moduleEntry?: string;
}

/** How one service's operation of a `service-locks` request ended (`output`: the last of what it printed, on a failure). */
export type ServiceOutcome =
  | { key: string; ok: true; skipped?: string }
  | { key: string; ok: false; error: string; code: ErrorCode; exitCode: number; output: string };

/**
 * A component a target builds itself (deploy --build-on-targets, or a target
 * of another system): a build function as its source text with the inputs as
 * its key hashes them (store entries as `{ $store: 'entry/sub/path' }`), and
 * that key, which the target checks; or an npm package from a packed tarball
 * in a store entry (`entry/file.tgz`), installed with npm's cache only.
 */
export type BuildRecipe =
  | { recipe: 'function'; name: string; entryName?: string; source: string; inputs: unknown; key: string }
  | { recipe: 'npm'; tarball: string; name?: string };

/** What each kind of request answers when it succeeds (`result`). */
export interface AgentAnswers {
  operation: unknown;
  activations: { mappings: DeployedMapping[]; packages: DeployedMapping[] };
  'record-packages': { recorded: number };
  query: QueryAnswer;
  describe: DescribeResult;
  lock: { locked: true };
  unlock: { released: boolean };
  missing: { missing: string[] };
  hold: { missing: string[] };
  import: { entries: string[] };
  'shell-properties': { file: string };
  'collect-garbage': {
    /** Entry names removed from the store, and their size. */
    removed: string[];
    bytes: number;
    kept: number;
    generations: Array<{ profile: string; deleted: number[] }>;
    lockedProfiles: Array<{ profile: string; holder: string }>;
  };
  profile: ProfileAnswers[ProfileAction['action']];
  /** The entry the build made (or had made before) in the target's store. */
  build: { entry: string };
  snapshots: SnapshotsAnswers[SnapshotsAction['action']];
  record: { recorded: true };
  'service-locks': {
    /** The services asked, in the order they ended; after a lock's refusal, those never started are not here. */
    outcomes: ServiceOutcome[];
    /** Lock: after a refusal, the services this request had locked, unlocked again (how each unlock ended). */
    unlocked: ServiceOutcome[];
  };
}

export type AgentRequestBody = AgentRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export interface AgentHello {
  /** The first line an agent prints: its state folder and how many operations it can run at once. */
  hello: { stateDir: string; cores: number; node: string };
}

/** A line an operation's modules printed, sent while the request runs (ctx.log, a module's output); `key`: the service of a `service-locks` request that printed it. */
export interface AgentOutputLine {
  id: number;
  line: string;
  key?: string;
}

export type AgentResponse =
  | { id: number; ok: true; result?: unknown; output: string; skipped?: string }
  /** `code` and `exitCode`: the error's own, so the coordinator says what the target said, never parsing text. */
  | { id: number; ok: false; error: string; code: ErrorCode; exitCode: number; output: string; holder?: LockHolder };

export type DescribeResult = MachineDescription & { cores: number };

export interface PackageVersion {
  name: string;
  version: string;
}

/** A type a target can run, and what serves it there. */
export interface TargetModule {
  type: string;
  kind: 'plugin' | 'executable';
  /** The plugin's package name, or the executable module's name. */
  name: string;
  version?: string;
  location: string;
}

/** One profile on a target, as `query` answers it. */
export interface TargetProfile {
  profile: string;
  /** The profile's current generation on this target (null: none installed). */
  generation: number | null;
  /** Store entries of the current generation. */
  packages: string[];
  /** Activated mappings, from the target's record. */
  services: DeployedMapping[];
  /** Services only installed into the profile (type package). */
  profileOnly: DeployedMapping[];
}

export interface QueryAnswer {
  stateDir: string;
  node: string;
  engine: { name: string; version: string; api: string };
  /** The runtime the last deploy to this target ran (the first its GC root keeps): its engine and plugins. Null: none (a local target). */
  runtime: { entry: string; engine: PackageVersion; plugins: PackageVersion[] } | null;
  /** The types the target serves: the module each resolves to. */
  modules: TargetModule[];
  profiles: TargetProfile[];
}
