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

/**
 * A cluster's label is a node inside it, not the cluster's own label:
 * Graphviz routes arrows around nodes but straight through cluster labels.
 * `#` never occurs in a name, so these IDs cannot collide with a mapping's.
 */
const targetLabelId = (target: string): string => JSON.stringify(['#label', target]);
const containerLabelId = (target: string, container: string): string => JSON.stringify(['#label', target, container]);

/** An invisible arrow that keeps a label node above what it labels. */
const below = (label: string, node: string, indent: string): string => `${indent}${dotId(label)} -> ${dotId(node)} ${attributes({ style: 'invis' })};`;

function serviceLines(service: ServiceNode, indent: string): string {
  const label = [service.name, service.type, ...(service.layer !== undefined ? [`layer ${service.layer}`] : []), ...(service.notDistributed ? ['(not distributed here)'] : [])];
  const style: Record<string, string> = { label: dotLabel(label) };
  if (service.providesContainers) style.peripheries = '2';
  if (service.notDistributed) Object.assign(style, { style: '"rounded,dashed"', color: 'gray50', fontcolor: 'gray50' });
  return `${indent}${dotId(service.id)} ${attributes(style)};`;
}

/** The ID of a container's cluster; arrows to a container end at its border (lhead). */
const containerCluster = (target: string, container: string): string => `cluster${JSON.stringify([target, container])}`;

function containerLines(target: TargetCluster, container: ContainerCluster, indent: string): string[] {
  const empty = container.services.length === 0;
  const label = [empty ? `${container.name} (empty)` : container.name, ...(container.providedBy.length > 0 ? [`provided by ${container.providedBy.join(', ')}`] : [])];
  const labelId = containerLabelId(target.name, container.name);
  // An empty container is a dashed outline: it holds no service, so it must not look like one.
  const look = empty
    ? 'style="rounded,dashed"; penwidth=1; color=gray50; fillcolor=none;'
    : `style="rounded,filled"; penwidth=1; fillcolor=${container.providedBy.length > 0 ? '"#e8f0fe"' : 'white'};`;
  return [
    `${indent}subgraph ${dotId(containerCluster(target.name, container.name))} {`,
    `${indent}  label=""; ${look}`,
    `${indent}  ${dotId(labelId)} ${attributes({ shape: 'plaintext', label: dotLabel(label), ...(empty ? { fontcolor: 'gray40' } : {}) })};`,
    ...container.services.map((service) => serviceLines(service, `${indent}  `)),
    ...container.services.map((service) => below(labelId, service.id, `${indent}  `)),
    `${indent}}`,
  ];
}

function targetLines(target: TargetCluster): string[] {
  const labelId = targetLabelId(target.name);
  return [
    `  subgraph ${dotId(`cluster${JSON.stringify([target.name])}`)} {`,
    '    label=""; style=filled; fillcolor="#f2f2f2"; penwidth=2;',
    `    ${dotId(labelId)} ${attributes({ shape: 'plaintext', label: dotLabel([`target ${target.name}`, target.hostname]) })};`,
    ...target.containers.flatMap((container) => containerLines(target, container, '    ')),
    ...target.containers.map((container) => below(labelId, containerLabelId(target.name, container.name), '    ')),
    '  }',
  ];
}

/**
 * The deployment architecture in Graphviz's DOT: a cluster per target (name
 * and address at its top), in it a cluster per container (dashed when empty),
 * in that a box per service mapping (name, type, layer when there are
 * several); arrows from dependants to dependencies, solid for dependsOn,
 * dashed for connectsTo, dotted for activatesAfter; bold blue arrows from a
 * service to the containers it provides.
 */
export function toDot(graph: DeploymentGraph): string {
  const lines = [
    'digraph "deployment" {',
    // compound: an arrow can end at a container's border.
    '  graph [fontname="sans-serif", compound=true];',
    '  node [shape=box, style=rounded, fontname="sans-serif"];',
    '  edge [fontname="sans-serif"];',
    ...graph.targets.flatMap(targetLines),
    ...graph.edges.map((edge) => `  ${dotId(edge.from)} -> ${dotId(edge.to)} ${attributes({ style: EDGE_STYLES[edge.kind] })};`),
    ...(graph.provisions ?? []).map(
      (p) => `  ${dotId(p.from)} -> ${dotId(containerLabelId(p.target, p.container))} ${attributes({ lhead: dotId(containerCluster(p.target, p.container)), style: 'bold', color: '"#1a73e8"', arrowhead: 'empty' })};`,
    ),
    '}',
  ];
  return `${lines.join('\n')}\n`;
}
