import { DysnomiaError } from '../errors.js';
import { adoptSnapshot } from '../snapshots/archive.js';
import { collectGarbage } from '../snapshots/gc.js';
import { assertSegment } from '../snapshots/names.js';
import { missingSnapshots, queryAll, queryLatest } from '../snapshots/query.js';
import type { AgentAnswers, SnapshotsAction } from './protocol.js';

/** A name from a coordinator: one path segment (never a path: it would reach outside the snapshots folder). */
function segment(kind: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `${kind} must be a name`);
  return assertSegment(kind, value);
}

function paths(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((p) => typeof p === 'string')) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'paths must be a list of CONTAINER/COMPONENT/ID');
  return value as string[];
}

/** A `snapshots` request: the queries and changes `dysnomia-snapshots` offers, answered as data. */
export async function snapshotsRequest(stateDir: string, request: SnapshotsAction): Promise<AgentAnswers['snapshots']> {
  switch (request.action) {
    case 'query': {
      const filter = { container: segment('container', request.container), component: segment('component', request.component) };
      return { paths: request.which === 'all' ? await queryAll(stateDir, filter) : await queryLatest(stateDir, filter) };
    }
    case 'missing':
      return { missing: await missingSnapshots(stateDir, paths(request.paths)) };
    case 'adopt': {
      const adopted = await adoptSnapshot(stateDir, paths([request.path])[0]!);
      return { path: adopted.path, generation: adopted.generation };
    }
    case 'gc': {
      const keep = request.keep;
      if (typeof keep !== 'number' || !Number.isInteger(keep) || keep < 0) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `keep must be a whole number >= 0, not ${JSON.stringify(keep)}`);
      return collectGarbage(stateDir, { keep, container: segment('container', request.container), component: segment('component', request.component) });
    }
    default:
      throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `unknown snapshots action ${JSON.stringify((request as { action?: unknown }).action)}`);
  }
}
