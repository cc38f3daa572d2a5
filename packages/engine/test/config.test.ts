import path from 'node:path';
import t from 'tap';
import { findConfigFile, loadConfig } from '../src/config.js';

const expected = (dir: string) => ({
  dir,
  modulesPath: [path.join(dir, 'modules'), '/opt/dysnomia/modules'],
  containersPath: [path.join(dir, 'containers')],
  plugins: ['dysnomia-plugin-hello', path.join(dir, 'local-plugin')],
  stateDir: path.join(dir, 'state'),
});

const settings = {
  modulesPath: ['modules', '/opt/dysnomia/modules'],
  containersPath: ['./containers'],
  plugins: ['dysnomia-plugin-hello', './local-plugin'],
  stateDir: 'state',
};

const formats: Record<string, string> = {
  'dysnomia.config.json': JSON.stringify(settings),
  'dysnomia.config.mjs': `export default ${JSON.stringify(settings)};`,
  'dysnomia.config.ts': `const config: { stateDir: string; [key: string]: unknown } = ${JSON.stringify(settings)};\nexport default config;`,
  '.dysnomiarc': JSON.stringify(settings),
  'dysnomia.config.cjs': `module.exports = ${JSON.stringify(settings)};`,
  '.dysnomiarc.yaml': 'modulesPath:\n  - modules\n  - /opt/dysnomia/modules\ncontainersPath: [./containers]\nplugins: [dysnomia-plugin-hello, ./local-plugin]\nstateDir: state\n',
  'package.json': JSON.stringify({ name: 'p', dysnomia: settings }),
};

for (const [file, text] of Object.entries(formats)) {
  t.test(`${file}: paths made absolute against its folder`, async (t) => {
    const dir = t.testdir({ [file]: text, sub: { deeper: {} } });
    const config = await loadConfig(path.join(dir, 'sub/deeper'));
    t.same(config, { ...expected(dir), file: path.join(dir, file) });
  });
}

t.test('the search stops at the project root (the first package.json)', async (t) => {
  const dir = t.testdir({ 'dysnomia.config.json': JSON.stringify(settings), project: { 'package.json': '{"name":"p"}', src: {} } });
  t.equal(await findConfigFile(path.join(dir, 'project/src')), undefined);
  t.same(await loadConfig(path.join(dir, 'project/src')), { dir: path.join(dir, 'project/src'), modulesPath: [], containersPath: [], plugins: [] });
  t.equal(await findConfigFile(dir), path.join(dir, 'dysnomia.config.json'));
});

t.test('bad configs name the file', async (t) => {
  const dir = t.testdir({
    'wrong-key.json': '{"modulePath": []}',
    'wrong-type.json': '{"plugins": [1]}',
    'broken.json': '{ nope',
    'broken.mjs': 'const a = 1;\nexport default { modulesPath: [ };\n',
  });
  await t.rejects(loadConfig(dir, 'wrong-key.json'), { code: 'ERR_DYSNOMIA_CONFIG', message: `${path.join(dir, 'wrong-key.json')}: unknown key "modulePath"` });
  await t.rejects(loadConfig(dir, 'wrong-type.json'), { message: `${path.join(dir, 'wrong-type.json')}: "plugins" must be a list of strings` });
  await t.rejects(loadConfig(dir, 'broken.json'), { message: new RegExp(`^${path.join(dir, 'broken.json')}: cannot load config`) });
  await t.rejects(loadConfig(dir, 'broken.mjs'), {
    message: `cannot load config: ${path.join(dir, 'broken.mjs')}:2: syntax error: Unexpected token '}'`,
  });
  await t.rejects(loadConfig(dir, 'missing.json'), { message: `${path.join(dir, 'missing.json')}: config file not found` });
});
