import type { ContainerCluster, DeploymentGraph, EdgeKind, ServiceNode, TargetCluster } from './deployment-graph.js';

/** The line style of each kind of dependency arrow. */
export const EDGE_STYLES: Readonly<Record<EdgeKind, string>> = { dependsOn: 'solid', connectsTo: 'dashed', activatesAfter: 'dotted' };

/**
 * A DOT quoted string holding `text` exactly: inside quotes only `"` and `\`
 * need a backslash (Graphviz keeps `\\` as two characters in IDs, so an ID
 * stays unique; control characters never reach it: IDs are JSON).
 */
export function dotId(text: string): string {
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * A DOT label showing `lines` as written: backslashes doubled (else `\n`, `\N`,
 * `\l` … would be Graphviz escapes), `&` as `&amp;` (Graphviz reads HTML
 * entities in labels), line breaks as `\n`, other control characters (not
 * allowed in the SVG's XML) as U+FFFD.
 */
export function dotLabel(lines: string[]): string {
  const escaped = lines.map((line) =>
    line
      .replace(/[\\"]/g, (c) => `\\${c}`)
      .replace(/&/g, '&amp;')
      .replace(/\r\n|\r|\n/g, '\\n')
      .replace(/\t/g, ' ')
      .replace(/[\u0000-\u001f\u007f]/g, '\uFFFD'),
  );
  return `"${escaped.join('\\n')}"`;
}

const attributes = (entries: Record<string, string>): string =>
  `[${Object.entries(entries)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ')}]`;

/** An invisible node, so Graphviz draws a cluster that holds nothing (it drops empty clusters). */
const placeholder = (id: string, indent: string): string => `${indent}${dotId(id)} ${attributes({ shape: 'point', style: 'invis', width: '0', height: '0', label: '""' })};`;

function serviceLines(service: ServiceNode, indent: string): string {
  const label = service.notDistributed ? [service.name, service.type, '(not distributed here)'] : [service.name, service.type];
  const style: Record<string, string> = { label: dotLabel(label) };
  if (service.providesContainers) style.peripheries = '2';
  if (service.notDistributed) Object.assign(style, { style: '"rounded,dashed"', color: 'gray50', fontcolor: 'gray50' });
  return `${indent}${dotId(service.id)} ${attributes(style)};`;
}

function containerLines(target: TargetCluster, container: ContainerCluster, indent: string): string[] {
  const place = JSON.stringify([target.name, container.name]);
  const label = container.providedBy.length > 0 ? [container.name, `provided by ${container.providedBy.join(', ')}`] : [container.name];
  return [
    `${indent}subgraph ${dotId(`cluster${place}`)} {`,
    `${indent}  label=${dotLabel(label)};`,
    `${indent}  style="rounded,filled"; penwidth=1; fillcolor=${container.providedBy.length > 0 ? '"#e8f0fe"' : 'white'};`,
    ...(container.services.length === 0 ? [placeholder(place, `${indent}  `)] : container.services.map((service) => serviceLines(service, `${indent}  `))),
    `${indent}}`,
  ];
}

function targetLines(target: TargetCluster): string[] {
  const place = JSON.stringify([target.name]);
  return [
    `  subgraph ${dotId(`cluster${place}`)} {`,
    `    label=${dotLabel([target.name, target.hostname])};`,
    '    style=filled; fillcolor="#f2f2f2"; penwidth=2;',
    ...(target.containers.length === 0 ? [placeholder(place, '    ')] : target.containers.flatMap((container) => containerLines(target, container, '    '))),
    '  }',
  ];
}

/**
 * The deployment architecture in Graphviz's DOT: a cluster per target (name
 * and address), in it a cluster per container, in that a box per service
 * mapping (name and type); arrows from dependants to dependencies, solid for
 * dependsOn, dashed for connectsTo, dotted for activatesAfter.
 */
export function toDot(graph: DeploymentGraph): string {
  const lines = [
    'digraph "deployment" {',
    '  graph [fontname="sans-serif"];',
    '  node [shape=box, style=rounded, fontname="sans-serif"];',
    '  edge [fontname="sans-serif"];',
    ...graph.targets.flatMap(targetLines),
    ...graph.edges.map((edge) => `  ${dotId(edge.from)} -> ${dotId(edge.to)} ${attributes({ style: EDGE_STYLES[edge.kind] })};`),
    '}',
  ];
  return `${lines.join('\n')}\n`;
}
