import { DysnomiaError } from '../errors.js';
import { ENGINE_API_VERSION, engineVersion } from '../version.js';
import type { TemplateFile } from './template-files.js';

/** A plugin package's name and the type it serves, from what `--plugin` was given. */
export interface PluginName {
  /** `dysnomia-plugin-TYPE` or `@SCOPE/dysnomia-plugin-TYPE`. */
  packageName: string;
  type: string;
  /** The folder it is written into, under the working folder: the package name without its scope. */
  folder: string;
}

const NPM_NAME_PART = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * `--plugin NAME`: a type (`static-site`), or a scoped one (`@acme/static-site`);
 * a name already spelt `dysnomia-plugin-TYPE` is taken as it is.
 */
export function pluginName(given: string): PluginName {
  const scoped = /^(@[^/]+)\/(.+)$/.exec(given);
  const scope = scoped?.[1];
  const bare = (scoped?.[2] ?? given).replace(/^dysnomia-plugin-/, '');
  if (!NPM_NAME_PART.test(bare) || (scope !== undefined && !NPM_NAME_PART.test(scope.slice(1))) || bare.length > 100) {
    throw new DysnomiaError(
      'ERR_DYSNOMIA_USAGE',
      `--plugin ${JSON.stringify(given)}: not a type name for an npm package (lower-case letters, digits, . _ -, starting with a letter or digit; optionally @scope/ before it)`,
    );
  }
  const folder = `dysnomia-plugin-${bare}`;
  return { packageName: scope === undefined ? folder : `${scope}/${folder}`, type: bare, folder };
}

const caret = (version: string) => `^${version.split('.')[0]}.0.0`;

function packageJson(name: PluginName): string {
  const manifest = {
    name: name.packageName,
    version: '0.1.0',
    description: `Dysnomia plugin for components of type "${name.type}"`,
    type: 'module',
    keywords: ['dysnomia-plugin'],
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
    files: ['dist', 'README.md'],
    engines: { node: '>=20.19' },
    scripts: {
      build: 'tsc -p .',
      pretest: 'npm run build',
      test: 'node --test',
      prepublishOnly: 'npm test',
    },
    peerDependencies: { '@dysnomia/engine': caret(engineVersion()) },
    devDependencies: { '@dysnomia/engine': caret(engineVersion()), '@types/node': '^20.19.0', typescript: '~5.9.3' },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      declaration: true,
      rootDir: 'src',
      outDir: 'dist',
      types: ['node'],
      skipLibCheck: true,
    },
    include: ['src'],
  },
  null,
  2,
)}\n`;

function indexTs(name: PluginName): string {
  return `// A Dysnomia type plugin: how to deploy a component of type "${name.type}" into a
// container. The contract (engine plugin API ${ENGINE_API_VERSION}) is in @dysnomia/engine's
// docs/plugins.md; the parts this file relies on:
// - ctx.component is the component's folder (absolute); ctx.componentName its
//   name without a store hash; ctx.container.properties the container's
//   properties (strings, or string arrays for key=("a" "b")).
// - activate and deactivate must be safe to repeat: both are called again after
//   a failure or a rollback, and deactivate also for what was never activated.
// - Throw an Error to fail the operation (exit status 1); log through ctx.log
//   (standard error). A method's return value is printed on standard output.
// - Run programs with ctx.run(file, args, { env, input }): no shell; secrets go
//   in env or input, never in args.
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { definePlugin } from '@dysnomia/engine';
import type { OperationContext } from '@dysnomia/engine';

/** Where the container wants components copied: its targetDir property. */
function targetDir(ctx: OperationContext): string {
  const value = ctx.container.properties.targetDir;
  if (typeof value !== 'string' || value === '') {
    throw new Error(\`container "\${ctx.container.name}" needs a targetDir property (a folder)\`);
  }
  return value;
}

export default definePlugin({
  type: ${JSON.stringify(name.type)},
  // The engine plugin API versions this plugin works with; the engine refuses it outside this range.
  engine: '${caret(ENGINE_API_VERSION)}',
  meta: { name: ${JSON.stringify(name.packageName)}, version: '0.1.0' },

  // Copies the component's folder to TARGETDIR/COMPONENT-NAME (a staging copy
  // first, then renamed into place), replacing what is there, so a repeated
  // activate ends in the same state.
  async activate(ctx) {
    const destination = path.join(targetDir(ctx), ctx.componentName);
    const staging = \`\${destination}.new-\${process.pid}\`;
    await mkdir(path.dirname(destination), { recursive: true });
    await rm(staging, { recursive: true, force: true });
    await cp(ctx.component, staging, { recursive: true });
    await rm(destination, { recursive: true, force: true });
    await rename(staging, destination);
    ctx.log.info(\`activated \${ctx.componentName} in \${destination}\`);
  },

  // Removes the copy; force: nothing there is not an error.
  async deactivate(ctx) {
    await rm(path.join(targetDir(ctx), ctx.componentName), { recursive: true, force: true });
  },

  // Optional operations: capture, lock, unlock, snapshot, restore,
  // collectGarbage, shell. One left out succeeds and does nothing.
});
`;
}

function testJs(name: PluginName): string {
  return `// Runs the plugin through the engine, as the dysnomia command would: the
// built plugin (npm test builds it first), a component folder, a container
// file with targetDir, and a scratch state folder.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Engine } from '@dysnomia/engine';
import plugin from '../dist/index.js';

test('activate copies the component into targetDir, again and again; deactivate removes it', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), ${JSON.stringify(`${name.folder}-`)}));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const component = path.join(dir, 'site');
  await mkdir(component);
  await writeFile(path.join(component, 'index.html'), '<p>Hello</p>\\n');
  const container = path.join(dir, 'container');
  await writeFile(container, \`type=${name.type}\\ntargetDir=\${path.join(dir, 'out')}\\n\`);

  const engine = await Engine.create({ plugins: [plugin], stateDir: path.join(dir, 'state'), cwd: dir });
  for (const round of [1, 2]) {
    await engine.run({ operation: 'activate', component, container });
    assert.equal(await readFile(path.join(dir, 'out/site/index.html'), 'utf8'), '<p>Hello</p>\\n', \`activate \${round}\`);
  }
  await engine.run({ operation: 'deactivate', component, container });
  await assert.rejects(readFile(path.join(dir, 'out/site/index.html')), { code: 'ENOENT' });
});

test('a container without targetDir fails the activation, naming the container', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), ${JSON.stringify(`${name.folder}-`)}));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const container = path.join(dir, 'bare');
  await writeFile(container, 'type=${name.type}\\n');
  const engine = await Engine.create({ plugins: [plugin], stateDir: path.join(dir, 'state'), cwd: dir });
  await assert.rejects(engine.run({ operation: 'activate', component: dir, container }), /container "bare" needs a targetDir property/);
});
`;
}

function readme(name: PluginName): string {
  const scoped = name.packageName.startsWith('@');
  return `# ${name.packageName}

A [Dysnomia for Node.js](https://github.com/dysnomia-js/dysnomia-js) plugin for
components of type \`${name.type}\`: \`activate\` copies the component's folder
into the container's \`targetDir\`, \`deactivate\` removes it. Change
\`src/index.ts\` to deploy what your type needs.

## Develop

\`\`\`sh
npm install
npm test          # builds (tsc) and runs test/ with node --test
\`\`\`

## Use

\`\`\`sh
npm install ${name.packageName}     # in the project you run dysnomia from
printf 'type=${name.type}\\ntargetDir=/tmp/${name.type}\\n' > my-container
dysnomia activate --component ./my-component --container ./my-container
dysnomia plugins                      # lists the type and where it was found
\`\`\`
${
  scoped
    ? `
\`dysnomia --type\` uses a scoped plugin once the project's Dysnomia config lists
it: \`"plugins": ["${name.packageName}"]\`.
`
    : ''
}
Publish with \`npm publish\`${scoped ? ' (`--access public` the first time)' : ''}. The plugin contract is in
[docs/plugins.md](https://github.com/dysnomia-js/dysnomia-js/blob/main/docs/plugins.md).
`;
}

const GITIGNORE = 'node_modules/\ndist/\n';

/** A TypeScript plugin package serving one type, which builds and passes its own test as written. */
export function pluginTemplate(name: PluginName): TemplateFile[] {
  return [
    { path: 'package.json', text: packageJson(name) },
    { path: 'tsconfig.json', text: TSCONFIG },
    { path: 'src/index.ts', text: indexTs(name) },
    { path: 'test/plugin.test.js', text: testJs(name) },
    { path: 'README.md', text: readme(name) },
    { path: '.gitignore', text: GITIGNORE },
  ];
}
