import type { DeployedMapping } from '@dysnomia/engine/internal/deployment-types.js';
import type { PackageVersion, QueryAnswer, TargetModule } from '@dysnomia/engine/internal/agent/protocol.js';
import { toNixValue } from '../capture/print-model.js';

/** One service on a target as `dysnomia query` shows it: no container properties (they may hold passwords). */
export interface QueriedService {
  service: string;
  name: string;
  type: string;
  container: string;
  component: string;
  id: string;
}

export interface QueriedProfile {
  /** The layer this profile is, in a layered deployment recorded here (`of`: the layered deployment's profile). */
  layer?: { name: string; of: string };
  /** The profile's current generation on the target (null: none installed). */
  generation: number | null;
  services: QueriedService[];
  /** Store entries of the profile's current generation. */
  packages: string[];
}

export interface QueriedTarget {
  node: string;
  engine: PackageVersion & { api: string };
  runtime: { entry: string; engine: PackageVersion; plugins: PackageVersion[] } | null;
  modules: TargetModule[];
  profiles: Record<string, QueriedProfile>;
}

/** What `dysnomia query --format json` prints. `version` changes only when a field changes meaning or goes away. */
export interface QueryReport {
  version: 1;
  /** The profile asked about; null: every profile each target has. */
  profile: string | null;
  targets: Record<string, QueriedTarget>;
}

function queried(m: DeployedMapping): QueriedService {
  return { service: m.service, name: m.name, type: m.type, container: m.container, component: m.entry, id: m.id };
}

const byService = (a: QueriedService, b: QueriedService) => a.service.localeCompare(b.service) || a.container.localeCompare(b.container);

/** The report of what the targets answered, targets in the infrastructure model's order. */
export function queryReport(order: string[], answers: Map<string, QueryAnswer>, profile: string | undefined, layers: Map<string, { name: string; of: string }> = new Map()): QueryReport {
  const targets: Record<string, QueriedTarget> = {};
  for (const name of order) {
    const answer = answers.get(name);
    if (answer === undefined) continue;
    const profiles: Record<string, QueriedProfile> = {};
    for (const p of answer.profiles) {
      // A target's record of a profile holds only its own mappings; one of another target would be a stale copy.
      const services = [...p.services, ...p.profileOnly].filter((m) => m.target === name).map(queried).sort(byService);
      const layer = layers.get(p.profile);
      profiles[p.profile] = { ...(layer ? { layer } : {}), generation: p.generation, services, packages: [...p.packages].sort() };
    }
    targets[name] = { node: answer.node, engine: answer.engine, runtime: answer.runtime, modules: answer.modules, profiles };
  }
  return { version: 1, profile: profile ?? null, targets };
}

export function reportJson(report: QueryReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function reportNix(report: QueryReport): string {
  return toNixValue(report.targets);
}

/** Columns padded to their widest cell, two spaces apart. */
function table(rows: string[][], indent: string): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((row) => `${indent}${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}

/** The report for people, as disnix-query prints it: per target, per profile, the services and the packages. */
export function reportText(report: QueryReport): string {
  const lines: string[] = [];
  for (const [name, target] of Object.entries(report.targets)) {
    lines.push(`Target ${name}: engine ${target.engine.version} on Node.js ${target.node}`);
    if (target.runtime) lines.push(`  Runtime ${target.runtime.entry}: plugins ${target.runtime.plugins.map((p) => `${p.name}@${p.version}`).join(', ') || 'none'}`);
    const types = target.modules.map((m) => (m.version ? `${m.type} (${m.name}@${m.version})` : `${m.type} (${m.kind})`));
    lines.push(`  Types: ${types.join(', ') || 'none'}`);
    const profiles = Object.entries(target.profiles);
    if (profiles.length === 0) lines.push(report.profile === null ? '  No profiles' : `  Profile ${report.profile}: nothing deployed`);
    for (const [profile, p] of profiles) {
      const layer = p.layer ? ` (layer ${p.layer.name} of ${p.layer.of})` : '';
      lines.push(`  Profile ${profile}${layer}: ${p.generation === null ? 'no generation installed' : `generation ${p.generation} on this target`}`);
      if (p.services.length > 0) lines.push(...table([['SERVICE', 'TYPE', 'CONTAINER', 'COMPONENT'], ...p.services.map((s) => [s.service, s.type, s.container, s.component])], '    '));
      else lines.push('    No services');
      if (p.packages.length > 0) lines.push('    Packages:', ...p.packages.map((entry) => `      ${entry}`));
    }
  }
  return `${lines.join('\n')}\n`;
}
