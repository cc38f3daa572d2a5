import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { commandWords } from '../packages/engine/src/cli/command-words.js';
import { dysnomia, tempDir } from './helpers/cli.js';
import { writeFileIn } from './helpers/fixtures.js';

t.test('dysnomia: an unknown type, container, command or option gets the nearest one', async (t) => {
  const dir = await tempDir(t);
  const env = { DYSNOMIA_STATEDIR: path.join(dir, 'state'), DYSNOMIA_CONTAINERS_PATH: path.join(dir, 'containers') };
  await mkdir(path.join(dir, 'component'));
  await writeFileIn(path.join(dir, 'containers/webserver'), 'type=wrapper\n');

  const type = await dysnomia(['activate', '-c', './component', '-C', 'webserver', '-t', 'wraper'], { cwd: dir, env });
  t.equal(type.code, 2);
  t.match(type.stderr, 'dysnomia: error: no module found for type "wraper": did you mean "wrapper"? Searched:\n');
  const farType = await dysnomia(['activate', '-c', './component', '-C', 'webserver', '-t', 'nosuchtype'], { cwd: dir, env });
  t.equal(farType.code, 2);
  t.match(farType.stderr, 'no module found for type "nosuchtype". Searched:\n', 'nothing close: no suggestion');

  const container = await dysnomia(['activate', '-c', './component', '-C', 'webservr'], { cwd: dir, env });
  t.equal(container.code, 2);
  t.match(container.stderr, 'dysnomia: error: no container configuration found for "webservr": did you mean "webserver"? Searched:\n');

  const command = await dysnomia(['depoy'], { cwd: dir, env });
  t.equal(command.code, 2);
  t.match(command.stderr, 'dysnomia: error: unexpected argument "depoy": did you mean "deploy"?');
  const operation = await dysnomia(['activte', '-c', './component'], { cwd: dir, env });
  t.match(operation.stderr, 'unexpected argument "activte": did you mean "activate"?');
  const init = await dysnomia(['int'], { cwd: dir, env });
  t.match(init.stderr, 'unexpected argument "int": did you mean "init"?');
  // Options after a misspelt command are the command's: the word is named first, not an option it does not know.
  const commandWithOptions = await dysnomia(['deplyo', '-s', 'services.mjs', '--dry-run'], { cwd: dir, env });
  t.equal(commandWithOptions.code, 2);
  t.match(commandWithOptions.stderr, 'dysnomia: error: unexpected argument "deplyo": did you mean "deploy"?');
  t.notMatch(commandWithOptions.stderr, 'Unknown option');

  const option = await dysnomia(['activate', '--componnt', './component'], { cwd: dir, env });
  t.equal(option.code, 2);
  t.match(option.stderr, "dysnomia: error: Unknown option '--componnt': did you mean '--component'?");
  const deployOption = await dysnomia(['deploy', '--dry-rn'], { cwd: dir, env });
  t.equal(deployOption.code, 2);
  t.match(deployOption.stderr, "Unknown option '--dry-rn': did you mean '--dry-run'?");
  const farOption = await dysnomia(['plugins', '--everything'], { cwd: dir, env });
  t.equal(farOption.stderr.split('\n')[0], "dysnomia: error: Unknown option '--everything'");
  t.same(await readdir(dir), ['component', 'containers'], 'nothing was run: no state folder');
});

t.test('dysnomia deploy: an unknown type, target or service in the models gets the nearest one, nothing deployed', async (t) => {
  const project = await tempDir(t);
  const home = path.join(project, 'home');
  await mkdir(home);
  const env = { HOME: home };
  const init = await dysnomia(['init'], { cwd: project, env });
  t.equal(init.code, 0, init.stderr);
  const deploy = (services: string, distribution: string) => dysnomia(['deploy', '-s', services, '-i', 'infrastructure.mjs', '-d', distribution], { cwd: project, env });

  const services = await readFile(path.join(project, 'services.mjs'), 'utf8');
  await writeFile(path.join(project, 'services-typo.mjs'), services.replace("pkg: './services/card', type: 'wrapper'", "pkg: './services/card', type: 'wraper'"));
  const type = await deploy('services-typo.mjs', 'distribution.mjs');
  t.equal(type.code, 2, type.stderr);
  t.match(type.stderr, 'no plugin or module serves the type of:\n  - service "card" (type "wraper": did you mean "wrapper"?) on target "localhost"\n');

  await writeFile(path.join(project, 'distribution-typo.json'), '{\n  "greeting": ["localhost"],\n  "card": ["localhots"]\n}\n');
  const target = await deploy('services.mjs', 'distribution-typo.json');
  t.equal(target.code, 2);
  t.match(target.stderr, 'distribution-typo.json:3: service "card": target "localhots" is not a target of the infrastructure model: did you mean "localhost"? (targets: localhost)');

  const distribution = await readFile(path.join(project, 'distribution.mjs'), 'utf8');
  await writeFile(path.join(project, 'distribution-typo.mjs'), distribution.replace('card: [infrastructure.localhost]', 'card: [infrastructure.localhots]'));
  const read = await deploy('services.mjs', 'distribution-typo.mjs');
  t.equal(read.code, 2);
  t.match(read.stderr, /distribution-typo\.mjs: service "card": an undefined target \(the model read infrastructure\.localhots: did you mean infrastructure\.localhost\?\) is not a target/);

  await writeFile(path.join(project, 'distribution-service.json'), '{\n  "greeting": ["localhost"],\n  "crad": ["localhost"]\n}\n');
  const service = await deploy('services.mjs', 'distribution-service.json');
  t.equal(service.code, 2);
  t.match(service.stderr, /distribution-service\.json:3: service "crad" is not in the services model [^\n]*services\.mjs: did you mean "card"\? \(services: greeting, card\)/);

  await writeFile(path.join(project, 'services-dependency.mjs'), services.replace('dependsOn: { greeting }', "dependsOn: ['greting']"));
  const dependency = await deploy('services-dependency.mjs', 'distribution.mjs');
  t.equal(dependency.code, 2);
  t.match(dependency.stderr, '"greting" is not a service of the model: did you mean "greeting"? (services: greeting, card)');

  await writeFile(path.join(project, 'packages-typo.json'), '{\n  "locahost": ["./services/greeting"]\n}\n');
  const packages = await dysnomia(['deploy', '-i', 'infrastructure.mjs', '-P', 'packages-typo.json'], { cwd: project, env });
  t.equal(packages.code, 2);
  t.match(packages.stderr, 'packages-typo.json:2: target "locahost" is not in the infrastructure model: did you mean "localhost"? (targets: localhost)');

  for (const result of [type, target, read, service, dependency, packages]) t.notMatch(result.stderr, /^\s+at /m, 'no stack trace');
  await t.rejects(readdir(path.join(project, 'output')), 'nothing was activated');
  await t.rejects(readdir(path.join(project, '.dysnomia/localhost/profiles/default')), 'no profile was made on the target');
});

t.test('every word suggested as a command is one: dysnomia WORD --help answers', async (t) => {
  for (const word of commandWords()) {
    const result = await dysnomia([word, '--help']);
    t.equal(result.code, 0, `dysnomia ${word} --help: ${result.stderr}`);
    t.match(result.stdout, /^Usage: /, word);
  }
});
