import { lstat, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { mergeTarget } from '../src/capture/merge-target.js';
import { nixString, toJson, toNix } from '../src/capture/print-model.js';
import { describeHeldBack, holdBackSecrets, isSecretName, isSecretValue } from '../src/capture/secrets.js';
import { writeFileAtomic } from '@dysnomia/engine/internal/write-file-atomic.js';
import { parseInfrastructure } from '../src/models/infrastructure.js';
import type { InfrastructureTarget } from '../src/models/infrastructure.js';

const targetOf = (raw: Record<string, unknown>, name = 'test1'): InfrastructureTarget => parseInfrastructure({ file: '/models/infrastructure.json', value: { [name]: raw }, lineOf: () => undefined })[name]!;

t.test('the target reports over the model, except how it is reached', async (t) => {
  const target = targetOf({
    properties: { hostname: '10.0.0.1', sshPort: 2222, sshKey: 'keys/id', stateDir: '/srv/state', zone: 'model' },
    containers: { 'mysql-production': { mysqlPort: '1', note: 'from the model' }, legacy: { a: 'b' } },
    numOfCores: 2,
  });
  const captured = mergeTarget(target, {
    properties: { hostname: 'test1', sshPort: '22', zone: 'target', system: 'x86_64-linux' },
    containers: { 'mysql-production': { type: 'mysql-database', mysqlPort: '3306' }, 'tomcat-webapplication': { tomcatPort: '8080' } },
    system: 'x86_64-linux',
    cores: 8,
  });
  t.same(captured.properties, { hostname: '10.0.0.1', sshPort: 2222, sshKey: '/models/keys/id', stateDir: '/srv/state', zone: 'target', system: 'x86_64-linux' });
  t.same(Object.keys(captured.containers), ['legacy', 'mysql-production', 'tomcat-webapplication', 'process', 'wrapper'], 'sorted, process and wrapper last');
  t.same(captured.containers['mysql-production'], { mysqlPort: '3306', note: 'from the model' }, "the target's values win; type left out");
  t.same(captured.containers.legacy, { a: 'b' }, 'a container only the model lists is kept');
  t.same([captured.containers.process, captured.containers.wrapper], [{}, {}]);
  t.equal(captured.system, 'x86_64-linux');
  t.equal(captured.numOfCores, 2, "the model's numOfCores kept");
  t.equal(captured.clientInterface, undefined, 'ssh is what the model gives this host anyway');
  t.equal(captured.targetProperty, undefined);
});

t.test('system from the model, then from the properties; interface and targetProperty kept when they matter', async (t) => {
  t.equal(mergeTarget(targetOf({ properties: { hostname: 'h' }, system: 'aarch64-linux' }), { containers: {}, cores: 1 }).system, 'aarch64-linux');
  t.equal(mergeTarget(targetOf({ properties: { hostname: 'h', system: 'i686-linux' } }), { containers: {}, cores: 1 }).system, 'i686-linux');
  t.equal(mergeTarget(targetOf({ properties: { hostname: 'h' } }), { containers: {}, cores: 1 }).system, undefined);
  const local = mergeTarget(targetOf({ properties: { hostname: 'box', stateDir: '/s' }, clientInterface: 'local' }), { containers: {}, cores: 1 });
  t.equal(local.clientInterface, 'local', 'a local target not on a local address says so');
  t.equal(mergeTarget(targetOf({ properties: { hostname: 'localhost' } }), { containers: {}, cores: 1 }).clientInterface, undefined, 'localhost is local by default');
  t.equal(mergeTarget(targetOf({ properties: { hostname: 'localhost' }, clientInterface: 'ssh' }), { containers: {}, cores: 1 }).clientInterface, 'ssh');
  const byAddress = mergeTarget(targetOf({ properties: { address: '10.1.1.1' }, targetProperty: 'address' }), { properties: { address: 'elsewhere' }, containers: {}, cores: 1 });
  t.equal(byAddress.targetProperty, 'address');
  t.equal(byAddress.properties.address, '10.1.1.1', 'the address property is the model’s');
});

t.test('secret names', async (t) => {
  for (const name of ['mysqlPassword', 'PASSWD', 'adminPasswd', 'clientSecret', 'apiToken', 'privateKey', 'private_key', 'sshPassphrase', 'apiKey', 'awsCredentials', 'dbPass', 'mysqlPwd', 'pass', 'keyFile', 'bypass']) {
    t.ok(isSecretName(name), name);
  }
  for (const name of ['mysqlPort', 'mysqlUsername', 'sshKey', 'sshKnownHosts', 'hostname', 'catalinaBaseDir']) t.notOk(isSecretName(name), name);
  for (const value of ['postgres://app:s3cret@db.example/app', 'https://user:pw@example.com/', ['x', 'mysql://root:pw@127.0.0.1:3306/']]) t.ok(isSecretValue(value), JSON.stringify(value));
  for (const value of ['https://example.com/', 'postgres://app@db.example/app', 'mailto:a@b', 'user:pw@host', 42]) t.notOk(isSecretValue(value), JSON.stringify(value));
});

t.test('secrets are held back by name, at any depth, and reported without values', async (t) => {
  const model = {
    test1: {
      properties: { hostname: 'a', adminPassword: 'p1', nested: { apiToken: 't', keep: 'k' } },
      containers: { 'mysql-production': { mysqlPort: '3306', mysqlPassword: 'p2' }, process: {} },
    },
  };
  const { model: safe, heldBack } = holdBackSecrets(model);
  t.same(safe.test1!.properties, { hostname: 'a', nested: { keep: 'k' } });
  t.same(safe.test1!.containers['mysql-production'], { mysqlPort: '3306' });
  t.same(model.test1.containers['mysql-production'].mysqlPassword, 'p2', 'the input is not changed');
  const lines = describeHeldBack(heldBack);
  t.same(lines, ['test1, properties: adminPassword', 'test1, properties: nested.apiToken', 'test1, container mysql-production: mysqlPassword']);
  t.notMatch(lines.join('\n'), /p1|p2|\bt\b/, 'no value in the report');
});

t.test('a URL with credentials is held back whatever its name; the way to reach a target is kept', async (t) => {
  const { model, heldBack } = holdBackSecrets({
    test1: { properties: { hostname: 'a', sshKey: '/home/me/.ssh/id_ed25519', dbPass: 'x' }, containers: { app: { databaseUrl: 'postgres://app:pw@db/app', mirrors: ['https://m.example/', 'ftp://u:p@f.example/'], mysqlPwd: 'y', port: '80' } } },
  });
  t.same(model.test1!.properties, { hostname: 'a', sshKey: '/home/me/.ssh/id_ed25519' });
  t.same(model.test1!.containers.app, { port: '80' });
  t.same(describeHeldBack(heldBack), ['test1, properties: dbPass', 'test1, container app: databaseUrl', 'test1, container app: mirrors', 'test1, container app: mysqlPwd']);
});

t.test('Nix output in the layout of disnix-capture-infra, strings escaped', async (t) => {
  const text = toNix({
    test1: {
      properties: { hostname: 'test1', sshPort: 2222, debug: true, tags: ['a', 'b"c'], db: { name: 'x' } },
      containers: { 'mysql-production': { mysqlPort: '3306', weird: 'a\\b ${x} "q"\nline' }, 'with space': {}, process: {}, wrapper: {} },
      system: 'x86_64-linux',
      clientInterface: 'local',
    },
  });
  t.equal(
    text,
    `{
  "test1" = {
    properties = {
      "hostname" = "test1";
      "sshPort" = 2222;
      "debug" = true;
      "tags" = [ "a" "b\\"c" ];
      "db" = {
        "name" = "x";
      };
    };
    containers = {
      mysql-production = {
        "mysqlPort" = "3306";
        "weird" = "a\\\\b \\\${x} \\"q\\"\\nline";
      };
      "with space" = {
      };
      process = {
      };
      wrapper = {
      };
    };
    "system" = "x86_64-linux";
    clientInterface = "local";
  };
}
`,
  );
  t.equal(nixString('${a}$b'), '"\\${a}$b"', '${ cannot start an interpolation; a lone $ is fine');
  t.equal(nixString('tab\there\r'), '"tab\\there\\r"');
});

t.test('JSON output is the model, 2-space indented, in the capture order', async (t) => {
  const model = { b: { properties: { hostname: 'b' }, containers: { process: {}, wrapper: {} } }, a: { properties: { hostname: 'a' }, containers: {} } };
  const text = toJson(model);
  t.same(JSON.parse(text), model);
  t.match(text, /^\{\n {2}"b": \{\n {4}"properties"/);
  t.ok(text.endsWith('}\n'));
});

t.test('writeFileAtomic: exact mode whatever the umask, replaces atomically, leaves no temp file', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-capture-write-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'infra.json');
  await writeFile(file, 'old', { mode: 0o644 });
  const previous = process.umask(0o000);
  try {
    await writeFileAtomic(file, 'secret model', 0o600);
  } finally {
    process.umask(previous);
  }
  t.equal(await readFile(file, 'utf8'), 'secret model');
  t.equal((await stat(file)).mode & 0o777, 0o600);
  await writeFileAtomic(file, 'public model', 0o644);
  t.equal((await stat(file)).mode & 0o777, 0o644);
  t.same(await readdir(dir), ['infra.json'], 'no temporary file left');
  await t.rejects(writeFileAtomic(path.join(dir, 'missing/infra.json'), 'x', 0o644), { code: 'ENOENT' });
});

t.test('writeFileAtomic: a symbolic link stays a link, a device is written to', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-capture-write-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'real.json'), 'old');
  const link = path.join(dir, 'link.json');
  await symlink('real.json', link);
  await writeFileAtomic(link, 'new', 0o600);
  t.ok((await lstat(link)).isSymbolicLink(), 'still a link');
  t.equal(await readlink(link), 'real.json');
  t.equal(await readFile(path.join(dir, 'real.json'), 'utf8'), 'new');
  t.equal((await stat(path.join(dir, 'real.json'))).mode & 0o777, 0o600);
  await writeFileAtomic('/dev/null', 'discarded', 0o644);
  t.ok((await stat('/dev/null')).isCharacterDevice(), '/dev/null is still the device');
  t.same((await readdir(dir)).sort(), ['link.json', 'real.json']);
});
