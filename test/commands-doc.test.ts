import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { REPO_ROOT } from './helpers/cli.js';

// docs/commands.md is every command's --help, gathered from the commands themselves, so the
// reference can never say something the commands do not. After changing a help text:
//   UPDATE_DOCS=1 npx tap test/commands-doc.test.ts
const DOC = path.join(REPO_ROOT, 'docs/commands.md');

const commands: Array<{ name: string; help: string }> = [];
for (const pkg of ['engine', 'deploy']) {
  const dir = path.join(REPO_ROOT, 'packages', pkg, 'src/cli');
  for (const file of (await readdir(dir)).filter((name) => name.endsWith('-command.ts')).sort()) {
    const help = ((await import(pathToFileURL(path.join(dir, file)).href)) as { HELP?: unknown }).HELP;
    if (typeof help !== 'string') continue;
    const usage = /^Usage: (dysnomia(?:-[a-z]+)?)(?: ([a-z][a-z-]*))?/.exec(help);
    if (!usage) throw new Error(`${file}: its HELP does not start with "Usage: dysnomia…"`);
    commands.push({ name: usage[2] ? `${usage[1]} ${usage[2]}` : usage[1]!, help });
  }
}
commands.sort((a, b) => (a.name === 'dysnomia' ? -1 : b.name === 'dysnomia' ? 1 : a.name < b.name ? -1 : 1));

const text = [
  '# Commands',
  '',
  "Every command's `--help`, as the commands print it (this file is made from them:",
  '`UPDATE_DOCS=1 npx tap test/commands-doc.test.ts`). Exit status everywhere: 0 success, 1 an',
  'operation failed, 2 bad usage or bad input (the message names the file and line, or the',
  'argument; `--debug` adds the stack trace). The models are described in',
  '[models.md](models.md), the `--json` events of deploy in [events.md](events.md), plugins',
  'in [plugins.md](plugins.md).',
  '',
  ...commands.map(({ name }) => `- [${name}](#${name.replace(/ /g, '-')})`),
  '',
  ...commands.flatMap(({ name, help }) => [`## ${name}`, '', '```text', help.trimEnd(), '```', '']),
].join('\n');

t.test('docs/commands.md holds every command’s --help as it is', async (t) => {
  if (process.env.UPDATE_DOCS) await writeFile(DOC, text);
  const written = await readFile(DOC, 'utf8').catch(() => '');
  t.ok(commands.length >= 10, `found the commands (${commands.map((c) => c.name).join(', ')})`);
  t.equal(written, text, 'docs/commands.md is current: run UPDATE_DOCS=1 npx tap test/commands-doc.test.ts');
});

t.test('docs/events.md documents every kind of --json event', async (t) => {
  const source = await readFile(path.join(REPO_ROOT, 'packages/deploy/src/deploy/progress.ts'), 'utf8');
  const kinds = [...new Set([...source.matchAll(/\{ event: '([a-z-]+)'/g)].map((m) => m[1]!))];
  const doc = await readFile(path.join(REPO_ROOT, 'docs/events.md'), 'utf8');
  t.ok(kinds.length >= 20, `found the event kinds (${kinds.join(', ')})`);
  t.same(kinds.filter((kind) => !doc.includes(`| \`${kind}\` |`)), [], 'each has its row in docs/events.md');
});
