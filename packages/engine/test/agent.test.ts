import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { Agent, serveAgent } from '../src/agent/agent.js';
import { Store } from '../src/store/store.js';
import { Activations, activationsFile } from '../src/agent/activations.js';
import type { DeployedMapping } from '../src/deployment-types.js';
import type { AgentRequest, AgentRequestBody, AgentResponse } from '../src/agent/protocol.js';

async function setup(t: { teardown(fn: () => unknown): void }) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-agent-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const stateDir = path.join(dir, 'state');
  const entry = `${'a'.repeat(32)}-thing`;
  await mkdir(path.join(stateDir, 'store', entry), { recursive: true });
  // A Dysnomia executable module that writes the properties it got.
  await mkdir(path.join(dir, 'modules'));
  await writeFile(path.join(dir, 'modules/recorder'), `#!/bin/sh\necho "$1 greeting=$greeting other=$other" >> ${path.join(dir, 'record')}\n`);
  await chmod(path.join(dir, 'modules/recorder'), 0o755);
  await mkdir(path.join(dir, 'containers'));
  await writeFile(path.join(dir, 'containers/box'), 'greeting="from the file"\nother="only in the file"\n');
  const agent = new Agent(stateDir, { env: { PATH: process.env.PATH, DYSNOMIA_MODULES_PATH: path.join(dir, 'modules'), DYSNOMIA_CONTAINERS_PATH: path.join(dir, 'containers') } });
  return { dir, stateDir, entry, agent };
}

t.test("an operation gets the model's container properties over the target's file of that name", async (t) => {
  const { dir, entry, agent } = await setup(t);
  const answer = await agent.handle({ id: 1, kind: 'operation', operation: 'activate', type: 'recorder', entry, container: 'box', properties: { greeting: 'from the model' } });
  t.match(answer, { id: 1, ok: true });
  t.equal(await readFile(path.join(dir, 'record'), 'utf8'), 'activate greeting=from the model other=only in the file\n');
  const alone = await agent.handle({ id: 2, kind: 'operation', operation: 'deactivate', type: 'recorder', entry, container: 'nowhere', properties: { greeting: 'only the model' } });
  t.match(alone, { ok: true }, 'a container no file describes is the model properties alone');
  t.match(await readFile(path.join(dir, 'record'), 'utf8'), /deactivate greeting=only the model other=\n$/);
});

t.test('bad requests are refused with exit status 2 and run nothing', async (t) => {
  const { dir, agent } = await setup(t);
  const escape = await agent.handle({ id: 3, kind: 'operation', operation: 'activate', type: 'recorder', entry: '../../etc', container: 'box' });
  t.match(escape, { id: 3, ok: false, exitCode: 2, error: /not a store entry/ });
  const unknown = await agent.handle({ id: 4, kind: 'operation', operation: 'explode' as 'activate', type: 'recorder', entry: `${'a'.repeat(32)}-thing`, container: 'box' });
  t.match(unknown, { ok: false, exitCode: 2, error: /unknown operation/ });
  await t.rejects(readFile(path.join(dir, 'record')), 'the module never ran');
});

t.test('a failing module: exit status 1, its output in the answer', async (t) => {
  const { dir, entry, agent } = await setup(t);
  await writeFile(path.join(dir, 'modules/recorder'), '#!/bin/sh\necho "cannot do $1" >&2\nexit 4\n');
  const answer = (await agent.handle({ id: 5, kind: 'operation', operation: 'activate', type: 'recorder', entry, container: 'box' })) as Extract<AgentResponse, { ok: false }>;
  t.equal(answer.ok, false);
  t.equal(answer.exitCode, 1);
  t.match(answer.output, 'cannot do activate');
});

t.test('profile locks: one holder at a time, stale ones replaced only by name, released only by their holder', async (t) => {
  const { stateDir, agent } = await setup(t);
  const first = { user: 'a', host: 'h1', pid: 1, since: '2026-01-01T00:00:00.000Z' };
  const second = { user: 'b', host: 'h2', pid: 2, since: '2026-01-02T00:00:00.000Z' };
  t.match(await agent.handle({ id: 1, kind: 'lock', profile: 'apps', holder: first }), { ok: true });
  t.match(await agent.handle({ id: 2, kind: 'lock', profile: 'apps', holder: first }), { ok: true }, 'taking it again as the same holder');
  t.match(await agent.handle({ id: 3, kind: 'lock', profile: 'apps', holder: second }), { ok: false, holder: first });
  t.match(await agent.handle({ id: 4, kind: 'lock', profile: 'apps', holder: second, breaking: { ...first, pid: 99 } }), { ok: false, holder: first }, 'breaking names the exact holder');
  t.match(await agent.handle({ id: 5, kind: 'unlock', profile: 'apps', holder: second }), { ok: true, result: { released: false } });
  t.match(await agent.handle({ id: 6, kind: 'lock', profile: 'apps', holder: second, breaking: first }), { ok: true });
  t.same(JSON.parse(await readFile(path.join(stateDir, 'locks/profile-apps.json'), 'utf8')), second);
  t.match(await agent.handle({ id: 7, kind: 'unlock', profile: 'apps', holder: second }), { ok: true, result: { released: true } });
  t.match(await agent.handle({ id: 8, kind: 'lock', profile: 'other', holder: first }), { ok: true }, 'profiles lock independently');
});

t.test('dysnomia agent speaks one JSON line per request and answers by id', async (t) => {
  const { stateDir, entry } = await setup(t);
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const served = serveAgent(input, output, stateDir);
  const requests: AgentRequest[] = [
    { id: 7, kind: 'describe' },
    { id: 8, kind: 'operation', operation: 'activate', type: 'no-such-type-here', entry, container: 'box', properties: {} },
  ];
  input.write(`${requests.map((r) => JSON.stringify(r)).join('\n')}\nnot json\n`);
  input.end();
  await served;
  const lines = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  t.match(lines[0], { hello: { stateDir, cores: Number } });
  const byId = new Map(lines.slice(1).map((line) => [line.id, line]));
  t.match(byId.get(7), { ok: true, result: { containers: {}, cores: Number } });
  t.match(byId.get(8), { ok: false, exitCode: 2, error: /no module found for type "no-such-type-here"/ });
  t.match(byId.get(-1), { ok: false, error: /not a JSON request/ });
});

t.test("a plugin's result comes back as it is, whatever keys it holds", async (t) => {
  const { dir, entry, agent } = await setup(t);
  // A capture result that looks like the agent's own outcomes must not be taken for one.
  await writeFile(
    path.join(dir, 'modules/reporter.mjs'),
    `export default { type: 'reporter', engine: '^1.0.0', async activate() {}, async deactivate() {}, async capture() { return { refused: { user: 'x' }, skipped: 'no' }; } };\n`,
  );
  const answer = await agent.handle({ id: 9, kind: 'operation', operation: 'capture', type: 'reporter', entry, container: 'box' });
  t.same(answer, { id: 9, ok: true, output: '', result: { refused: { user: 'x' }, skipped: 'no' } });
});

t.test('what a module prints reaches the coordinator line by line while it runs, as {id, line} messages', async (t) => {
  const { dir, stateDir, entry } = await setup(t);
  await writeFile(path.join(dir, 'modules/talker'), '#!/bin/sh\necho "first line"\necho "to stderr" >&2\nprintf "no newline at the end"\n');
  await chmod(path.join(dir, 'modules/talker'), 0o755);
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const served = serveAgent(input, output, stateDir, { env: { PATH: process.env.PATH, DYSNOMIA_MODULES_PATH: path.join(dir, 'modules') } });
  input.end(`${JSON.stringify({ id: 3, kind: 'operation', operation: 'activate', type: 'talker', entry, container: 'box', properties: {} })}\n`);
  await served;
  const lines = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>).slice(1);
  t.same(
    lines.filter((l) => 'line' in l).map((l) => [l.id, l.line]).sort(),
    [[3, 'first line'], [3, 'no newline at the end'], [3, 'to stderr']],
    'each line once, the last one even without a newline',
  );
  t.match(lines.at(-1), { id: 3, ok: true }, 'the answer comes after its lines');
});

t.test('plugins given to the agent (the runtime\'s) serve their types', async (t) => {
  const { dir, stateDir, entry } = await setup(t);
  const plugin = path.join(dir, 'dysnomia-plugin-noted');
  await mkdir(plugin);
  await writeFile(path.join(plugin, 'package.json'), JSON.stringify({ name: 'dysnomia-plugin-noted', version: '2.0.0', type: 'module', main: 'index.js' }));
  await writeFile(
    path.join(plugin, 'index.js'),
    `export default { type: 'noted', engine: '^1.0.0', async activate(ctx) { ctx.log.info('noted ' + ctx.componentName); ctx.log.debug('detail'); }, async deactivate() {} };\n`,
  );
  for (const debug of [false, true]) {
    const agent = new Agent(stateDir, { env: { PATH: process.env.PATH }, plugins: [plugin], debug });
    const lines: string[] = [];
    const answer = await agent.handle({ id: 1, kind: 'operation', operation: 'activate', type: 'noted', entry, container: 'box', properties: {} }, (line) => lines.push(line));
    t.match(answer, { ok: true });
    t.same(lines, debug ? ['dysnomia: noted thing', 'dysnomia: debug: detail'] : ['dysnomia: noted thing'], debug ? 'with debug: the debug line too' : 'info lines only');
  }
});

t.test('profile and store requests answer data; errors keep their code and exit status', async (t) => {
  const { dir, stateDir, agent } = await setup(t);
  const store = Store.at(stateDir);
  const made = async (name: string) => {
    await mkdir(path.join(dir, 'sources', name, 'bin'), { recursive: true });
    await writeFile(path.join(dir, 'sources', name, 'bin', name), `#!/bin/sh\necho ${name}\n`);
    return store.add(path.join(dir, 'sources', name), { cwd: dir });
  };
  const entry = await made('thing');
  const other = await made('other');
  const ask = (request: AgentRequestBody) => agent.handle({ id: 1, ...request } as AgentRequest);

  t.match(await ask({ kind: 'missing', entries: [entry, `${'c'.repeat(32)}-absent`] }), { ok: true, result: { missing: [`${'c'.repeat(32)}-absent`] } });
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'current' }), { ok: true, result: null }, 'no profile yet');
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'install', entries: [entry], etcOnly: [] }), { ok: true, result: { generation: 1, changed: true } });
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'install', entries: [entry, other], etcOnly: [] }), { ok: true, result: { generation: 2, changed: true } });
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'current' }), { ok: true, result: { generation: 2, packages: [entry, other].sort() } });
  const listed = (await ask({ kind: 'profile', profile: 'apps', action: 'generations' })) as Extract<AgentResponse, { ok: true }>;
  t.same((listed.result as Array<{ generation: number; current: boolean }>).map((g) => [g.generation, g.current]), [[1, false], [2, true]]);
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'rollback' }), { ok: true, result: { generation: 1 } });
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'switch', generation: 2 }), { ok: true, result: { generation: 2 } });
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'undo-install', previous: 1, generation: 2 }), { ok: true });
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'current' }), { ok: true, result: { generation: 1, packages: [entry] } }, 'undone: back at 1, 2 deleted');
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'delete', which: 'old' }), { ok: true, result: { deleted: [] } });

  // Errors as the target's engine raised them: code and exit status, no text to parse.
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'rollback' }), { ok: false, code: 'ERR_DYSNOMIA_INPUT', exitCode: 1, error: /no generation before/ });
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'switch', generation: 9 }), { ok: false, code: 'ERR_DYSNOMIA_INPUT', exitCode: 2, error: /has no generation 9/ });
  t.match(await ask({ kind: 'profile', profile: '../etc', action: 'current' }), { ok: false, code: 'ERR_DYSNOMIA_USAGE', exitCode: 2 });
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'install', entries: ['../../etc'], etcOnly: [] }), { ok: false, code: 'ERR_DYSNOMIA_USAGE', error: /not a store entry/ });
  t.match(await ask({ kind: 'missing', entries: ['/etc/passwd'] }), { ok: false, code: 'ERR_DYSNOMIA_USAGE' });
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'delete', which: 'everything' as 'old' }), { ok: false, code: 'ERR_DYSNOMIA_USAGE', error: /not a generation selector/ });
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'explode' } as never), { ok: false, code: 'ERR_DYSNOMIA_USAGE', error: /unknown profile action/ });

  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'undo-install', previous: null, generation: 1 }), { ok: true });
  t.match(await ask({ kind: 'profile', profile: 'apps', action: 'current' }), { ok: true, result: null }, 'a first install undone: no profile');
});

t.test('a command run with DYSNOMIA_ERROR_FORMAT=json says its error as one JSON line, which reads back whole', async (t) => {
  const { errorLine, parseErrorLine, DysnomiaError } = await import('../src/errors.js');
  const line = errorLine(new DysnomiaError('ERR_DYSNOMIA_LOCKED', 'profile "x" is locked', { exitCode: 1 }));
  t.same(parseErrorLine(`some warning\n${line}`), { code: 'ERR_DYSNOMIA_LOCKED', message: 'profile "x" is locked', exitCode: 1 });
  t.equal(parseErrorLine('dysnomia: error: plain text\n'), undefined, 'text is not taken for data');
  t.equal(parseErrorLine('{"error": "not ours"}\n'), undefined);
});

t.test("service-locks: every service's lock in one request; a refusal starts no other and unlocks those locked", async (t) => {
  const { dir, stateDir, agent } = await setup(t);
  const record = path.join(dir, 'record');
  // Refuses the lock for a component named *-busy, saying why.
  await writeFile(path.join(dir, 'modules/recorder'), `#!/bin/sh\nname=$(basename "$2")\necho "$1 \${name#*-}" >> ${record}\ncase "$1 $name" in\n  "lock "*-busy) echo "$name is busy"; exit 3 ;;\nesac\n`);
  const services = [];
  for (const name of ['one', 'busy', 'two']) {
    const entry = `${name[0]!.repeat(32)}-${name}`;
    await mkdir(path.join(stateDir, 'store', entry), { recursive: true });
    services.push({ key: String(services.length), type: 'recorder', entry, container: 'box' });
  }
  const [one, busy, two] = services as [(typeof services)[0], (typeof services)[0], (typeof services)[0]];
  const lines: Array<[string, string | undefined]> = [];
  const all = await agent.handle({ id: 1, kind: 'service-locks', operation: 'lock', services: [one, two], parallel: 2 }, (line, key) => void lines.push([line, key]));
  t.match(all, { ok: true, result: { unlocked: [] } });
  t.same(((all as { result: { outcomes: Array<{ key: string; ok: boolean }> } }).result.outcomes).map((o) => [o.key, o.ok]).sort(), [['0', true], ['2', true]], 'each service locked');
  t.same((await readFile(record, 'utf8')).trim().split('\n').sort(), ['lock one', 'lock two']);

  await rm(record);
  const refused = await agent.handle({ id: 2, kind: 'service-locks', operation: 'lock', services: [one, busy, two], parallel: 1 }, (line, key) => void lines.push([line, key]));
  t.match(refused, {
    ok: true,
    result: {
      outcomes: [{ key: '0', ok: true }, { key: '1', ok: false, exitCode: 1, error: /failed in lock/, output: /bbbb+-busy is busy/ }],
      unlocked: [{ key: '0', ok: true }],
    },
  });
  t.equal((refused as { result: { outcomes: unknown[] } }).result.outcomes.length, 2, 'the service after the refusal was not asked');
  t.same((await readFile(record, 'utf8')).trim().split('\n'), ['lock one', 'lock busy', 'unlock one'], 'the one locked was unlocked again');
  t.ok(lines.some(([line, key]) => key === '1' && /busy is busy/.test(line)), 'what a service prints comes keyed by it');

  await rm(record);
  await writeFile(path.join(dir, 'modules/recorder'), `#!/bin/sh\nname=$(basename "$2")\necho "$1 \${name#*-}" >> ${record}\n[ "\${name#*-}" != busy ]\n`);
  const unlocking = await agent.handle({ id: 3, kind: 'service-locks', operation: 'unlock', services: [one, busy, two], parallel: 1 });
  t.match(unlocking, { ok: true, result: { outcomes: [{ key: '0', ok: true }, { key: '1', ok: false }, { key: '2', ok: true }], unlocked: [] } });
  t.same((await readFile(record, 'utf8')).trim().split('\n'), ['unlock one', 'unlock busy', 'unlock two'], 'unlock asks every one, whatever the others answer');

  const bad = await agent.handle({ id: 4, kind: 'service-locks', operation: 'lock', services: [{ ...one, entry: '../../etc' }], parallel: 1 });
  t.match(bad, { ok: true, result: { outcomes: [{ ok: false, exitCode: 2, error: /not a store entry/ }] } }, 'a bad entry is that service\'s refusal');
  t.match(await agent.handle({ id: 5, kind: 'service-locks', operation: 'activate' as 'lock', services: [one], parallel: 1 }), { ok: false, exitCode: 2 }, 'only lock and unlock');
  t.match(await agent.handle({ id: 6, kind: 'service-locks', operation: 'lock', services: 'all' as unknown as [], parallel: 1 }), { ok: false, exitCode: 2 });
});

t.test('service-locks: each container and type is resolved once per request, and each service still gets its own container', async (t) => {
  const { dir, stateDir } = await setup(t);
  // A plugin that counts the resolution hooks' calls and shows what each lock got (and changes it, as a plugin may).
  const plugin = path.join(dir, 'counted.mjs');
  await writeFile(
    plugin,
    `const seen = (globalThis.countedPlugin = { modules: 0, containers: 0, loaded: 0, locks: [] });
export default {
  type: 'counted',
  engine: '^1.0.0',
  activate() {},
  deactivate() {},
  lock(ctx) {
    seen.locks.push({ component: ctx.componentName, container: ctx.container.name, properties: { ...ctx.container.properties } });
    ctx.container.properties.changedByLock = 'yes';
  },
  apply(hooks) {
    hooks.resolveModule.tap({ name: 'count', stage: -1 }, () => void seen.modules++);
    hooks.resolveContainer.tap({ name: 'count', stage: -1 }, () => void seen.containers++);
    hooks.moduleLoaded.tap('count', () => void seen.loaded++);
  },
};
`,
  );
  const agent = new Agent(stateDir, { plugins: [plugin], env: { PATH: process.env.PATH, DYSNOMIA_CONTAINERS_PATH: path.join(dir, 'containers') } });
  const services = [];
  for (const [index, name] of ['one', 'two', 'three', 'four'].entries()) {
    const entry = `${String(index).repeat(32)}-${name}`;
    await mkdir(path.join(stateDir, 'store', entry), { recursive: true });
    // The fourth is in the same container with other properties: a resolution of its own.
    services.push({ key: String(index), type: 'counted', entry, container: 'box', properties: { greeting: index === 3 ? 'other' : 'hello' } });
  }
  const seen = () => (globalThis as unknown as { countedPlugin: { modules: number; containers: number; loaded: number; locks: Array<{ component: string; container: string; properties: Record<string, unknown> }> } }).countedPlugin;
  t.match(await agent.handle({ id: 1, kind: 'service-locks', operation: 'lock', services, parallel: 2 }), { ok: true, result: { outcomes: [{ ok: true }, { ok: true }, { ok: true }, { ok: true }], unlocked: [] } });
  t.same({ modules: seen().modules, containers: seen().containers, loaded: seen().loaded }, { modules: 1, containers: 2, loaded: 1 }, 'one resolution of the type, one per container and properties');
  t.same(
    seen().locks.map((l) => [l.component, l.container, l.properties]).sort(),
    [
      ['four', 'box', { greeting: 'other', other: 'only in the file' }],
      ['one', 'box', { greeting: 'hello', other: 'only in the file' }],
      ['three', 'box', { greeting: 'hello', other: 'only in the file' }],
      ['two', 'box', { greeting: 'hello', other: 'only in the file' }],
    ],
    "every lock got the model's properties over the file's, and none saw what another lock changed",
  );
  await agent.handle({ id: 2, kind: 'service-locks', operation: 'unlock', services, parallel: 2 });
  t.same({ modules: seen().modules, containers: seen().containers }, { modules: 2, containers: 4 }, 'the next request resolves again (a profile may have changed in between)');
  await agent.close();
});

t.test("a target's record: changes that come at once are written together, and the record is what one change at a time wrote", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-activations-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const mapping = (n: number) => ({ id: `id${n}`, service: `s${n}`, target: 't', container: 'c', type: 'wrapper', entry: `${String(n % 10).repeat(32)}-s${n}`, after: [] }) as unknown as DeployedMapping;
  const one = new Activations(path.join(dir, 'one'));
  for (let n = 0; n < 30; n++) await one.activated('apps', mapping(n));
  for (let n = 0; n < 30; n += 3) await one.deactivated('apps', `id${n}`);
  await one.packagesInProfile('apps', [mapping(99)]);
  const together = new Activations(path.join(dir, 'together'));
  const first = Promise.all(Array.from({ length: 30 }, (_, n) => together.activated('apps', mapping(n))));
  await first;
  await Promise.all([...Array.from({ length: 10 }, (_, i) => together.deactivated('apps', `id${i * 3}`)), together.packagesInProfile('apps', [mapping(99)])]);
  const read = (stateDir: string) => readFile(activationsFile(stateDir, 'apps'), 'utf8');
  t.equal(await read(path.join(dir, 'together')), await read(path.join(dir, 'one')));
  t.equal(JSON.parse(await read(path.join(dir, 'one'))).mappings.length, 20);
});

/** An archive as an agent's input carries it after an `import` line: frames of a 4-byte length and the bytes, in pieces of `size`. */
function framed(archive: Buffer, size: number, end = 0): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < archive.length; at += size) {
    const piece = archive.subarray(at, at + size);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(piece.length);
    parts.push(header, piece);
  }
  const last = Buffer.alloc(4);
  last.writeUInt32BE(end);
  return Buffer.concat([...parts, last]);
}

async function archiveOf(dir: string, files: Record<string, string | Buffer>): Promise<{ archive: Buffer; entry: string }> {
  const source = path.join(dir, 'source', 'pkg');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(source, name)), { recursive: true });
    await writeFile(path.join(source, name), content);
  }
  const store = Store.at(path.join(dir, 'coordinator'));
  const entry = await store.add(source);
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  await store.exportArchive([entry], out);
  return { archive: Buffer.concat(chunks), entry };
}

/** Serves `input` (written in pieces of `piece` bytes, so frames and lines split anywhere) and answers the lines by id. */
async function serveInPieces(stateDir: string, input: Buffer, piece: number): Promise<Map<unknown, Record<string, unknown>>> {
  const stream = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const served = serveAgent(stream, output, stateDir);
  for (let at = 0; at < input.length; at += piece) stream.write(input.subarray(at, at + piece));
  stream.end();
  await served;
  const lines = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  return new Map(lines.slice(1).map((line) => [line.id, line]));
}

t.test('import: the archive follows the request line in frames; entries are verified and added, and requests after it are read as requests', async (t) => {
  const { dir, stateDir } = await setup(t);
  const { archive, entry } = await archiveOf(dir, { 'bin/run': '#!/bin/sh\n', 'share/data': Buffer.alloc(300_000, 7) });
  const input = Buffer.concat([Buffer.from(`${JSON.stringify({ id: 1, kind: 'import' })}\n`), framed(archive, 70_000), Buffer.from(`${JSON.stringify({ id: 2, kind: 'missing', entries: [entry] })}\n`)]);
  for (const piece of [3, 4096, input.length]) {
    await rm(path.join(stateDir, 'store'), { recursive: true, force: true }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const byId = await serveInPieces(stateDir, input, piece);
    t.match(byId.get(1), { ok: true, result: { entries: [entry] } }, `input in pieces of ${piece} bytes: imported`);
    t.match(byId.get(2), { ok: true, result: { missing: [] } }, 'the next line is a request again');
    t.equal(await Store.at(stateDir).verify(entry), true, 'the entry is whole');
  }
});

t.test('import: a damaged archive, one the coordinator gave up on, or an input that ends inside it adds nothing; the agent goes on', async (t) => {
  const { dir, stateDir } = await setup(t);
  const { archive, entry } = await archiveOf(dir, { 'share/data': Buffer.alloc(200_000, 3) });
  const damaged = Buffer.from(archive);
  const flip = archive.indexOf(Buffer.alloc(16, 3)) + 10;
  damaged.writeUInt8(damaged.readUInt8(flip) ^ 1, flip);
  const next = Buffer.from(`${JSON.stringify({ id: 2, kind: 'missing', entries: [entry] })}\n`);
  const importLine = Buffer.from(`${JSON.stringify({ id: 1, kind: 'import' })}\n`);

  let byId = await serveInPieces(stateDir, Buffer.concat([importLine, framed(damaged, 50_000), next]), 8192);
  t.match(byId.get(1), { ok: false, exitCode: 1, error: /store archive refused: .*do not match/ }, 'damaged: refused');
  t.match(byId.get(2), { ok: true, result: { missing: [entry] } }, 'and the agent reads on');

  const half = framed(archive.subarray(0, 100_000), 50_000).subarray(0, -4);
  const abort = Buffer.from([0xff, 0xff, 0xff, 0xff]);
  byId = await serveInPieces(stateDir, Buffer.concat([importLine, half, abort, next]), 8192);
  t.match(byId.get(1), { ok: false, error: /the coordinator stopped sending the archive/ }, 'given up: refused');
  t.match(byId.get(2), { ok: true, result: { missing: [entry] } });

  byId = await serveInPieces(stateDir, Buffer.concat([importLine, half]), 8192);
  t.match(byId.get(1), { ok: false, error: /store archive refused/ }, 'cut off: refused');
  const left = await readdir(path.join(stateDir, 'store'));
  t.same(left.filter((name) => name !== `${'a'.repeat(32)}-thing` && name !== '.meta'), [], 'nothing was added, no temporary folder left');
});
