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
  /** The target's own record of what the profile has activated on it. */
  | { id: number; kind: 'activations'; profile: string }
  | { id: number; kind: 'describe' }
  | { id: number; kind: 'lock'; profile: string; holder: LockHolder; breaking?: LockHolder }
  | { id: number; kind: 'unlock'; profile: string; holder: LockHolder }
  /** Of these store entries, those the target's store lacks. */
  | { id: number; kind: 'missing'; entries: string[] }
  | ({ id: number; kind: 'profile'; profile: string } & ProfileAction)
  | ({ id: number; kind: 'snapshots' } & SnapshotsAction)
  /**
   * Changes the target's record of the profile without an operation: a
   * migrated service's mappings are recorded only once its state has moved
   * (its operations ran without `record`), so a re-run after an interruption
   * plans the move again.
   */
  | { id: number; kind: 'record'; profile: string; activated?: DeployedMapping; deactivated?: string };

/** What each kind of request answers when it succeeds (`result`). */
export interface AgentAnswers {
  operation: unknown;
  activations: { mappings: DeployedMapping[] };
  describe: DescribeResult;
  lock: { locked: true };
  unlock: { released: boolean };
  missing: { missing: string[] };
  profile: ProfileAnswers[ProfileAction['action']];
  snapshots: SnapshotsAnswers[SnapshotsAction['action']];
  record: { recorded: true };
}

export type AgentRequestBody = AgentRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export interface AgentHello {
  /** The first line an agent prints: its state folder and how many operations it can run at once. */
  hello: { stateDir: string; cores: number; node: string };
}

/** A line an operation's modules printed, sent while the request runs (ctx.log, a module's output). */
export interface AgentOutputLine {
  id: number;
  line: string;
}

export type AgentResponse =
  | { id: number; ok: true; result?: unknown; output: string; skipped?: string }
  /** `code` and `exitCode`: the error's own, so the coordinator says what the target said, never parsing text. */
  | { id: number; ok: false; error: string; code: ErrorCode; exitCode: number; output: string; holder?: LockHolder };

export type DescribeResult = MachineDescription & { cores: number };
