import { lstat } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { dysnomia, tempDir } from './helpers/cli.js';
import { RECORDER_MODULE, writeExecutable, writeFileIn } from './helpers/fixtures.js';

const CASES: Array<[string, string, number, string]> = [
  ['bad-quoting', 'type=recorder\nrecordTo=RECORD\nname="unclosed value\n', 3, 'unterminated double quote in the value of "name"'],
  ['command-substitution', 'type=recorder\nrecordTo=RECORD\n\nport=$(cat /etc/passwd)\n', 4, 'command substitution ("$") in the value of "port" is not allowed'],
  ['no-equals', '# comment\ntype=recorder\nrecordTo=RECORD\nthis line has no equals sign\n', 4, 'expected key=value'],
  // A value that goes on after a space is named, never quoted: it may be a password.
  ['text-after-value', 'type=recorder\nrecordTo=RECORD\nmysqlPassword=Secret! more-of-the-secret\n', 3, 'unexpected text after the value of "mysqlPassword": quote values that contain spaces'],
  ['secret-without-key', 'type=recorder\nrecordTo=RECORD\nSecret!-on-a-line-alone\n', 3, 'expected key=value'],
];

for (const [name, text, line, message] of CASES) {
  t.test(`${name}: file:line, exit status 2, no stack trace, nothing run`, async (t) => {
    const dir = await tempDir(t);
    await writeExecutable(path.join(dir, 'modules/recorder'), RECORDER_MODULE);
    const record = path.join(dir, 'record');
    const container = await writeFileIn(path.join(dir, 'containers', name), text.replace('RECORD', record));
    const env = { DYSNOMIA_MODULES_PATH: path.join(dir, 'modules'), DYSNOMIA_STATEDIR: path.join(dir, 'state') };

    for (const containerArg of [container, name]) {
      const result = await dysnomia(['-o', 'activate', '-c', dir, '-C', containerArg], {
        env: { ...env, DYSNOMIA_CONTAINERS_PATH: path.join(dir, 'containers') },
      });
      t.equal(result.code, 2, `exit status 2 for --container ${containerArg}`);
      t.ok(result.stderr.startsWith(`dysnomia: error: ${container}:${line}: ${message}`), result.stderr);
      t.equal(result.stderr.split('\n').length, 2, 'one line of error');
      t.notMatch(result.stderr, /^\s+at /m, 'no stack trace');
      t.notMatch(result.stderr, /Secret!|more-of-the-secret|this line has no/, 'no value or line text quoted back');
      await t.rejects(lstat(`${record}.args`), { code: 'ENOENT' }, 'the module did not run');
    }

    const debug = await dysnomia(['-o', 'activate', '-c', dir, '-C', container, '--debug'], { env });
    t.equal(debug.code, 2);
    t.match(debug.stderr, /^\s+at /m, '--debug shows the stack');
  });
}
