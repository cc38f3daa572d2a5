import t from 'tap';
import { parseContainerFile, parseJsonContainer, propertiesToEnvironment } from '../src/containers/parse-container-file.js';
import { DysnomiaError } from '../src/errors.js';

const FILE = '/etc/dysnomia/containers/mysql-database';

t.test('reads Dysnomia key=value files without evaluating them', async (t) => {
  const text = [
    '# a comment',
    '',
    'type=mysql-database',
    'mysqlUsername=root',
    'mysqlPassword="s3cret with  spaces"',
    "literal='$HOME and $(date) stay as written'",
    'escaped="a \\"quoted\\" \\$word and \\\\ slash"',
    'joined=abc"def ghi"\'jkl\'',
    'paths=("/var/lib/a" \'/var/b c\' plain)',
    'empty=',
    'trailing=value   # comment after the value',
    '   indented=yes',
    'withEquals=a=b',
  ].join('\n');
  t.same(parseContainerFile(text, FILE), {
    type: 'mysql-database',
    mysqlUsername: 'root',
    mysqlPassword: 's3cret with  spaces',
    literal: '$HOME and $(date) stay as written',
    escaped: 'a "quoted" $word and \\ slash',
    joined: 'abcdef ghijkl',
    paths: ['/var/lib/a', '/var/b c', 'plain'],
    empty: '',
    trailing: 'value',
    indented: 'yes',
    withEquals: 'a=b',
  });
});

t.test('quoted values and arrays may span lines, as in a shell', async (t) => {
  const text = "motd='line one\n  line two'\nservers=(\n  \"a b\"\n  c  # trailing comment\n)\njoined=one\\\ntwo\nnext=\"x\\\ny\"\n";
  t.same(parseContainerFile(text, FILE), { motd: 'line one\n  line two', servers: ['a b', 'c'], joined: 'onetwo', next: 'xy' });
  t.throws(() => parseContainerFile("ok=1\nbad='never\nclosed\n", FILE), { message: `${FILE}:2: unterminated single quote in the value of "bad"` });
  t.throws(() => parseContainerFile('ok=1\nlist=(\n a\n', FILE), { message: `${FILE}:2: array for "list" is not closed with ")"` });
});

t.test('a later assignment wins, as in a shell', async (t) => {
  t.same(parseContainerFile('a=1\na=2\n', FILE), { a: '2' });
});

const malformed: Array<[string, string, number, RegExp]> = [
  ['unterminated double quote', 'ok=1\nbad="abc\n', 2, /unterminated double quote/],
  ['unterminated single quote', "bad='abc", 1, /unterminated single quote/],
  ['command substitution', 'ok=1\n\nbad=$(rm -rf /)', 3, /command substitution/],
  ['backquotes', 'bad="`id`"', 1, /command substitution/],
  ['variable expansion', 'bad=$HOME/x', 1, /variable expansion/],
  ['variable in double quotes', 'bad="${HOME}"', 1, /variable expansion/],
  ['a line without =', 'ok=1\njust some words', 2, /expected key=value/],
  ['a second word', 'bad=two words', 1, /after the value of "bad"/],
  ['a space before =', 'bad key=1', 1, /not a valid property name/],
  ['unclosed array', 'bad=("a" "b"', 1, /not closed/],
  ['a command separator', 'bad=a;reboot', 1, /unquoted ";"/],
];
for (const [name, text, line, pattern] of malformed) {
  t.test(`refuses ${name} with file and line`, async (t) => {
    const error = (() => {
      try {
        parseContainerFile(text, FILE);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    t.ok(error instanceof DysnomiaError, 'throws a DysnomiaError');
    const e = error as DysnomiaError;
    t.equal(e.code, 'ERR_DYSNOMIA_CONTAINER_SYNTAX');
    t.equal(e.exitCode, 2);
    t.same(e.location, { file: FILE, line });
    t.match(e.message, new RegExp(`^${FILE}:${line}: `));
    t.match(e.message, pattern);
  });
}

t.test('JSON containers: scalars become strings, arrays stay arrays', async (t) => {
  t.same(parseJsonContainer('{"port": 3306, "on": true, "name": "x", "list": ["a", 2]}', 'c.json'), {
    port: '3306',
    on: 'true',
    name: 'x',
    list: ['a', '2'],
  });
  t.throws(() => parseJsonContainer('{"nested": {"a": 1}}', 'c.json'), { code: 'ERR_DYSNOMIA_CONTAINER_SYNTAX', message: /c\.json: property "nested"/ });
  t.throws(() => parseJsonContainer('{\n"a": 1,\n}', 'c.json'), { code: 'ERR_DYSNOMIA_CONTAINER_SYNTAX', message: /^c\.json:3: invalid JSON/ });
  t.throws(() => parseJsonContainer('[1]', 'c.json'), { message: /must be an object/ });
  t.throws(() => parseJsonContainer('{"bad key": "v"}', 'c.json'), { message: 'c.json: "bad key" is not a valid property name (letters, digits and _): modules get properties as environment variables' });
});

t.test('environment for executable modules: arrays joined by spaces, type left out', async (t) => {
  t.same(propertiesToEnvironment({ type: 'x', a: 'b c', list: ['1', '2 3'] }), { a: 'b c', list: '1 2 3' });
});
