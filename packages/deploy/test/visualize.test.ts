import { spawnSync } from 'node:child_process';
import t from 'tap';
import { parseDistribution } from '../src/models/distribution.js';
import { parseInfrastructure } from '../src/models/infrastructure.js';
import type { Infrastructure } from '../src/models/infrastructure.js';
import type { ModelSource } from '../src/models/load-model.js';
import { parseServices } from '../src/models/services.js';
import type { ServicesModel } from '../src/models/services.js';
import { deploymentGraph, mappingId } from '../src/visualize/deployment-graph.js';
import type { DeploymentGraph } from '../src/visualize/deployment-graph.js';
import { dotId, dotLabel, toDot } from '../src/visualize/dot.js';

const source = (file: string, value: unknown): ModelSource => ({ file: `/models/${file}`, value, lineOf: () => undefined });

async function models(infrastructure: unknown, distribution: unknown, services: unknown): Promise<{ infra: Infrastructure; model: ServicesModel }> {
  const infra = parseInfrastructure(source('infrastructure.json', infrastructure));
  const dist = await parseDistribution(source('distribution.json', distribution), infra);
  return { infra, model: await parseServices(source('services.json', services), infra, dist) };
}

/** The seed article's StaffTracker, cut down: two MySQL containers on test1 (one provided by a service), Tomcat on test2. */
const STAFF_INFRA = {
  test2: { properties: { hostname: 'test2.example' }, containers: { 'tomcat-production': { tomcatPort: 8080 }, process: {} } },
  test1: { properties: { hostname: 'test1.example' }, containers: { 'mysql-production': { mysqlPort: 3306 }, wrapper: {} } },
};
const STAFF_DIST = {
  StaffTracker: { targets: [{ target: 'test2', container: 'tomcat-production' }] },
  staff: { targets: [{ target: 'test1', container: 'mysql-test' }] },
  rooms: { targets: [{ target: 'test1', container: 'mysql-production' }] },
  'mysql-test': ['test1'],
};
const STAFF_SERVICES = {
  StaffTracker: {
    pkg: './StaffTracker',
    type: 'tomcat-webapplication',
    // Two parameters on the same dependency are one arrow.
    dependsOn: { rooms: 'rooms', roomsAgain: 'rooms', staff: 'staff' },
    connectsTo: { self: 'StaffTracker' },
    // A narrowed dependency naming a place the distribution does not map rooms to.
    activatesAfter: { mysql: 'mysql-test', roomsOnTest2: { name: 'rooms', targets: ['test2'] } },
  },
  staff: { pkg: './staff', type: 'mysql-database' },
  rooms: { pkg: './rooms', type: 'mysql-database' },
  'mysql-test': { pkg: './mysql', type: 'wrapper', providesContainers: { 'mysql-test': { mysqlPort: 3307 } } },
  unused: { pkg: './unused', type: 'process' },
};

t.test('the graph: every target, its declared, used and provided containers, the service mappings in them, all sorted', async (t) => {
  const { infra, model } = await models(STAFF_INFRA, STAFF_DIST, STAFF_SERVICES);
  const graph = deploymentGraph(infra, model);
  const tracker = mappingId('test2', 'tomcat-production', 'StaffTracker');
  const rooms = mappingId('test1', 'mysql-production', 'rooms');
  const staff = mappingId('test1', 'mysql-test', 'staff');
  const mysql = mappingId('test1', 'wrapper', 'mysql-test');
  const roomsGhost = mappingId('test2', 'mysql-database', 'rooms');
  const node = (id: string, key: string, name: string, type: string, extra: { providesContainers?: boolean; notDistributed?: boolean } = {}) => ({
    id,
    key,
    name,
    type,
    providesContainers: extra.providesContainers ?? false,
    notDistributed: extra.notDistributed ?? false,
  });
  t.same(graph, {
    targets: [
      {
        name: 'test1',
        hostname: 'test1.example',
        containers: [
          { name: 'mysql-production', providedBy: [], services: [node(rooms, 'rooms', 'rooms', 'mysql-database')] },
          { name: 'mysql-test', providedBy: ['mysql-test'], services: [node(staff, 'staff', 'staff', 'mysql-database')] },
          { name: 'wrapper', providedBy: [], services: [node(mysql, 'mysql-test', 'mysql-test', 'wrapper', { providesContainers: true })] },
        ],
      },
      {
        name: 'test2',
        hostname: 'test2.example',
        containers: [
          { name: 'mysql-database', providedBy: [], services: [node(roomsGhost, 'rooms', 'rooms', 'mysql-database', { notDistributed: true })] },
          { name: 'process', providedBy: [], services: [] },
          { name: 'tomcat-production', providedBy: [], services: [node(tracker, 'StaffTracker', 'StaffTracker', 'tomcat-webapplication')] },
        ],
      },
    ],
    edges: [
      { from: tracker, to: rooms, kind: 'dependsOn' },
      { from: tracker, to: staff, kind: 'dependsOn' },
      { from: tracker, to: mysql, kind: 'activatesAfter' },
      { from: tracker, to: roomsGhost, kind: 'activatesAfter' },
      { from: tracker, to: tracker, kind: 'connectsTo' },
    ],
  });
  t.notOk(JSON.stringify(graph).includes('unused'), 'a service the distribution does not map is not drawn');
});

t.test('a service mapped to several targets: one node per mapping, an arrow from each to each mapping its dependency uses', async (t) => {
  const { infra, model } = await models(
    { a: { properties: { hostname: 'a' } }, b: { properties: { hostname: 'b' } } },
    { web: ['a', 'b'], db: ['a', 'b'] },
    { web: { pkg: './w', type: 'process', connectsTo: { db: 'db' } }, db: { pkg: './d', type: 'process' } },
  );
  const graph = deploymentGraph(infra, model);
  t.same(
    graph.edges.map((e) => [JSON.parse(e.from)[0], JSON.parse(e.to)[0], e.kind]),
    [
      ['a', 'a', 'connectsTo'],
      ['a', 'b', 'connectsTo'],
      ['b', 'a', 'connectsTo'],
      ['b', 'b', 'connectsTo'],
    ],
  );
  t.same(
    graph.targets.map((target) => target.containers.map((c) => [c.name, c.services.map((s) => s.key)])),
    [[['process', ['db', 'web']]], [['process', ['db', 'web']]]],
  );
});

t.test('the same models in another order give the same DOT, byte for byte', async (t) => {
  const reverse = <T extends Record<string, unknown>>(object: T): T => Object.fromEntries(Object.entries(object).reverse()) as T;
  const first = await models(STAFF_INFRA, STAFF_DIST, STAFF_SERVICES);
  const second = await models(reverse(STAFF_INFRA), reverse(STAFF_DIST), reverse(STAFF_SERVICES));
  t.equal(toDot(deploymentGraph(second.infra, second.model)), toDot(deploymentGraph(first.infra, first.model)));
});

t.test('DOT: clusters nest target > container > service; arrows solid, dashed, dotted; providers doubled and linked to what they provide; empty containers dashed; layers named', async (t) => {
  const graph: DeploymentGraph = {
    targets: [
      {
        name: 't1',
        hostname: 'h1',
        containers: [
          { name: 'c', providedBy: ['p'], services: [{ id: 'A', key: 'a', name: 'a', type: 'ta', providesContainers: false, notDistributed: false, layer: 'apps' }] },
          { name: 'd', providedBy: [], services: [] },
        ],
      },
      { name: 't2', hostname: 'h2', containers: [{ name: 'e', providedBy: [], services: [{ id: 'B', key: 'b', name: 'b', type: 'tb', providesContainers: true, notDistributed: true }] }] },
      { name: 't3', hostname: 'h3', containers: [] },
    ],
    edges: [
      { from: 'A', to: 'B', kind: 'dependsOn' },
      { from: 'A', to: 'A', kind: 'connectsTo' },
      { from: 'B', to: 'A', kind: 'activatesAfter' },
    ],
    provisions: [{ from: 'B', target: 't1', container: 'c' }],
  };
  t.equal(
    toDot(graph),
    `digraph "deployment" {
  graph [fontname="sans-serif", compound=true];
  node [shape=box, style=rounded, fontname="sans-serif"];
  edge [fontname="sans-serif"];
  subgraph "cluster[\\"t1\\"]" {
    label=""; style=filled; fillcolor="#f2f2f2"; penwidth=2;
    "[\\"#label\\",\\"t1\\"]" [shape=plaintext, label="target t1\\nh1"];
    subgraph "cluster[\\"t1\\",\\"c\\"]" {
      label=""; style="rounded,filled"; penwidth=1; fillcolor="#e8f0fe";
      "[\\"#label\\",\\"t1\\",\\"c\\"]" [shape=plaintext, label="c\\nprovided by p"];
      "A" [label="a\\nta\\nlayer apps"];
      "[\\"#label\\",\\"t1\\",\\"c\\"]" -> "A" [style=invis];
    }
    subgraph "cluster[\\"t1\\",\\"d\\"]" {
      label=""; style="rounded,dashed"; penwidth=1; color=gray50; fillcolor=none;
      "[\\"#label\\",\\"t1\\",\\"d\\"]" [shape=plaintext, label="d (empty)", fontcolor=gray40];
    }
    "[\\"#label\\",\\"t1\\"]" -> "[\\"#label\\",\\"t1\\",\\"c\\"]" [style=invis];
    "[\\"#label\\",\\"t1\\"]" -> "[\\"#label\\",\\"t1\\",\\"d\\"]" [style=invis];
  }
  subgraph "cluster[\\"t2\\"]" {
    label=""; style=filled; fillcolor="#f2f2f2"; penwidth=2;
    "[\\"#label\\",\\"t2\\"]" [shape=plaintext, label="target t2\\nh2"];
    subgraph "cluster[\\"t2\\",\\"e\\"]" {
      label=""; style="rounded,filled"; penwidth=1; fillcolor=white;
      "[\\"#label\\",\\"t2\\",\\"e\\"]" [shape=plaintext, label="e"];
      "B" [label="b\\ntb\\n(not distributed here)", peripheries=2, style="rounded,dashed", color=gray50, fontcolor=gray50];
      "[\\"#label\\",\\"t2\\",\\"e\\"]" -> "B" [style=invis];
    }
    "[\\"#label\\",\\"t2\\"]" -> "[\\"#label\\",\\"t2\\",\\"e\\"]" [style=invis];
  }
  subgraph "cluster[\\"t3\\"]" {
    label=""; style=filled; fillcolor="#f2f2f2"; penwidth=2;
    "[\\"#label\\",\\"t3\\"]" [shape=plaintext, label="target t3\\nh3"];
  }
  "A" -> "B" [style=solid];
  "A" -> "A" [style=dashed];
  "B" -> "A" [style=dotted];
  "B" -> "[\\"#label\\",\\"t1\\",\\"c\\"]" [lhead="cluster[\\"t1\\",\\"c\\"]", style=bold, color="#1a73e8", arrowhead=empty];
}
`,
  );
});

t.test('quoting: IDs keep every character; labels show names as written', async (t) => {
  t.equal(dotId('plain'), '"plain"');
  t.equal(dotId('say "hi" \\ ü'), '"say \\"hi\\" \\\\ ü"');
  t.equal(dotId('ends with \\'), '"ends with \\\\"', 'a trailing backslash cannot swallow the closing quote');
  t.equal(dotLabel(['a', 'b']), '"a\\nb"', 'lines joined with \\n');
  t.equal(dotLabel(['\\N \\l "q"']), '"\\\\N \\\\l \\"q\\""', 'Graphviz escapes (\\N, \\l) are shown, not interpreted');
  t.equal(dotLabel(['a&amp;b']), '"a&amp;amp;b"', 'an entity-looking name is shown as written');
  t.equal(dotLabel(['two\nlines\r\nhere']), '"two\\nlines\\nhere"');
  t.equal(dotLabel(['tab\tbell\u0007']), '"tab bell\uFFFD"', 'no control characters reach the SVG');
});

/** Graphviz's own reading of the DOT (dot -Tjson): clusters and nodes by name with the lines it draws, and the arrows. */
interface Readback {
  clusters: Map<string, { text: string[]; nodes: string[] }>;
  nodes: Map<string, { text: string[]; peripheries?: string; style?: string }>;
  edges: Array<[string, string, string]>;
}

function graphviz(dot: string, format: string): { status: number | null; stdout: string; stderr: string; missing: boolean } {
  const result = spawnSync('dot', [`-T${format}`], { input: dot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', missing: (result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' };
}

function readBack(json: string): Readback {
  type DrawOp = { op: string; text?: string };
  type GvObject = { _gvid: number; name: string; nodes?: number[]; _ldraw_?: DrawOp[]; peripheries?: string; style?: string };
  const parsed = JSON.parse(json) as { objects: GvObject[]; edges?: Array<{ tail: number; head: number; style?: string }> };
  const text = (o: GvObject) => (o._ldraw_ ?? []).filter((d) => d.op === 'T').map((d) => d.text ?? '');
  const byId = new Map(parsed.objects.map((o) => [o._gvid, o]));
  const result: Readback = { clusters: new Map(), nodes: new Map(), edges: [] };
  for (const o of parsed.objects) {
    if (o.name.startsWith('cluster')) result.clusters.set(o.name, { text: text(o), nodes: (o.nodes ?? []).map((id) => byId.get(id)!.name) });
    else result.nodes.set(o.name, { text: text(o), ...(o.peripheries ? { peripheries: o.peripheries } : {}), ...(o.style ? { style: o.style } : {}) });
  }
  for (const e of parsed.edges ?? []) result.edges.push([byId.get(e.tail)!.name, byId.get(e.head)!.name, e.style ?? 'solid']);
  return result;
}

/** How Graphviz stores a quoted ID: `\"` becomes `"`, `\\` stays two characters. */
const stored = (id: string) => id.replace(/\\/g, '\\\\');

t.test('Graphviz reads labels with quotes, backslashes, spaces, newlines, entities and unicode exactly as written', async (t) => {
  // Names are confined to letters, digits and . _ + - (models refuse anything else); a target's address is free text.
  const odd = 'rack "A" \\ 東京 <prod> & co a&amp;b 🚀\nsecond line';
  const { infra, model } = await models(
    { rack: { properties: { hostname: odd } }, plain: { properties: { hostname: 'plain.example' } } },
    { web: { targets: [{ target: 'rack', container: 'tomcat-prod' }] }, db: ['plain'], provider: ['plain'] },
    {
      web: { pkg: './w', type: 'tomcat-webapplication', dependsOn: { db: 'db' }, connectsTo: { p: 'provider' }, activatesAfter: { d: 'db' } },
      db: { pkg: './d', type: 'mysql-database' },
      provider: { pkg: './p', type: 'process', providesContainer: 'tomcat-prod' },
    },
  );
  const dot = toDot(deploymentGraph(infra, model));
  const json = graphviz(dot, 'json');
  if (json.missing) {
    t.fail('Graphviz "dot" is not installed: apt-get install graphviz');
    return;
  }
  t.equal(json.status, 0, `dot -Tjson reads the DOT: ${json.stderr}`);
  t.equal(json.stderr, '', 'without a warning');
  const back = readBack(json.stdout);

  const targetCluster = back.clusters.get(stored(`cluster${JSON.stringify(['rack'])}`));
  t.same(back.nodes.get(stored(JSON.stringify(['#label', 'rack'])))?.text, ['target rack', 'rack "A" \\ 東京 <prod> & co a&amp;b 🚀', 'second line'], 'target label: name and address, a newline a line break');
  const web = stored(mappingId('rack', 'tomcat-prod', 'web'));
  t.ok(targetCluster?.nodes.includes(web), 'the service is inside its target cluster');
  const db = stored(mappingId('plain', 'mysql-database', 'db'));
  const provider = stored(mappingId('plain', 'process', 'provider'));
  t.same(back.nodes.get(provider), { text: ['provider', 'process'], peripheries: '2', style: 'rounded' }, 'a provider has a double border');
  t.same(
    back.edges.filter(([, , style]) => style !== 'invis').sort(),
    [
      [web, db, 'dotted'],
      [web, db, 'solid'],
      [web, provider, 'dashed'],
    ].sort(),
  );

  const svg = graphviz(dot, 'svg');
  t.equal(svg.status, 0, `dot -Tsvg accepts the DOT: ${svg.stderr}`);
  t.match(svg.stdout, /<svg[\s\S]*<\/svg>\s*$/);
  t.match(svg.stdout, 'rack &quot;A&quot; \\ 東京 &lt;prod&gt; &amp; co a&amp;amp;b 🚀', 'the address, XML-escaped, entity-looking text drawn as written');
});
