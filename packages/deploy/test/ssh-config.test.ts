import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { hostMatches, jumpChain, parseJumps, SshConfig } from '../src/remote/ssh-config.js';

const home = os.homedir();

t.test('Host patterns: wildcards, negation, case-insensitive', async (t) => {
  t.ok(hostMatches('web1.example.org', ['*.example.org']));
  t.ok(hostMatches('web1', ['web?']));
  t.notOk(hostMatches('web12', ['web?']));
  t.notOk(hostMatches('db.example.org', ['*.example.org', '!db.*']), 'a matching negation wins');
  t.notOk(hostMatches('web1', ['!db']), 'a negation alone matches nothing');
  t.ok(hostMatches('WEB1', ['web1']));
});

t.test('first value wins, IdentityFile adds up, tokens and ~ are expanded', async (t) => {
  const config = SshConfig.parse(
    [
      '# comment',
      'Host web1 web2',
      '  HostName %h.internal.example.org',
      '  Port 2222',
      '  IdentityFile ~/.ssh/web_%r',
      '',
      'Host web*',
      '  User=deploy',
      '  Port 22',
      '  IdentityFile "~/keys/with space"',
      '  UserKnownHostsFile ~/.ssh/known_web',
      '  ProxyJump admin@bastion:2200,ssh://inner',
      '',
      'Host *',
      '  User nobody',
      '  ProxyJump none',
    ].join('\n'),
    '/etc/test_ssh_config',
  );
  t.same(config.lookup('web1'), {
    hostName: 'web1.internal.example.org',
    port: 2222,
    user: 'deploy',
    identityFiles: [path.join(home, '.ssh/web_deploy'), path.join(home, 'keys/with space')],
    proxyJump: [{ user: 'admin', host: 'bastion', port: 2200 }, { host: 'inner' }],
    userKnownHostsFile: path.join(home, '.ssh/known_web'),
  });
  t.same(config.lookup('db'), { user: 'nobody', identityFiles: [], proxyJump: [] }, 'only Host * applies; ProxyJump none is no jump');
});

t.test('Match blocks are skipped; unknown keywords are left alone', async (t) => {
  const config = SshConfig.parse(['Match exec "true"', '  Port 1', 'Host a', '  ForwardAgent yes', '  Port 3'].join('\n'), 'cfg');
  t.same(config.lookup('a'), { port: 3, identityFiles: [] });
});

t.test('the jump chain: the first hop\'s own ProxyJump comes first; a loop is refused', async (t) => {
  const config = SshConfig.parse(['Host target', '  ProxyJump mid,last', 'Host mid', '  ProxyJump outer', 'Host last', '  ProxyJump ignored'].join('\n'), 'cfg');
  t.same(jumpChain(config, 'target').map((h) => h.host), ['outer', 'mid', 'last']);
  t.same(jumpChain(config, 'elsewhere'), []);
  const loop = SshConfig.parse(['Host a', '  ProxyJump b', 'Host b', '  ProxyJump a'].join('\n'), 'loop.cfg');
  t.throws(() => jumpChain(loop, 'a'), { message: /loop\.cfg: ProxyJump for "a" goes round in a loop/ });
});

t.test('mistakes are said with the file and line', async (t) => {
  t.throws(() => SshConfig.parse('Host a\n  Port http\n', 'bad.cfg').lookup('a'), { message: 'bad.cfg:2: Port must be a port number, not "http"', exitCode: 2 });
  t.throws(() => SshConfig.parse('Host a\n  HostName %z\n', 'bad.cfg').lookup('a'), { message: /^bad\.cfg:2: token %z is not supported here/ });
  t.throws(() => SshConfig.parse('Host a\n  ProxyJump a@@b\n', 'bad.cfg').lookup('a'), { message: 'bad.cfg:2: ProxyJump: "a@@b" is not [user@]host[:port]' });
  t.throws(() => SshConfig.parse('Host a\n  User "x\n', 'bad.cfg'), { message: 'bad.cfg:2: unterminated quote' });
  t.throws(() => SshConfig.parse('Host\n', 'bad.cfg'), { message: 'bad.cfg:1: Host needs a value' });
  t.same(parseJumps('[::1]:2022', { file: 'f', line: 1 }), [{ host: '::1', port: 2022 }]);
});

t.test('read: a missing default file is no configuration, a named one is an error; Include is followed inside its Host block', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dysnomia-ssh-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.same(SshConfig.read(path.join(dir, 'none'), { required: false }).lookup('a'), { identityFiles: [] });
  t.throws(() => SshConfig.read(path.join(dir, 'none'), { required: true }), { message: /cannot read the ssh config .*none: no such file/ });
  await mkdir(path.join(dir, 'conf.d'));
  await writeFile(path.join(dir, 'conf.d/10-a.conf'), 'Port 1000\nHost other\n  Port 1001\n');
  await writeFile(path.join(dir, 'conf.d/20-b.conf'), 'User included\n');
  await writeFile(path.join(dir, 'config'), `Host a\n  Include ${dir}/conf.d/*.conf\n  HostName after-include\nHost b\n  Port 2000\n`);
  const config = SshConfig.read(path.join(dir, 'config'), { required: true });
  t.same(config.lookup('a'), { port: 1000, user: 'included', hostName: 'after-include', identityFiles: [] }, 'what the included files say applies to a only');
  t.same(config.lookup('b'), { port: 2000, identityFiles: [] });
  t.same(config.lookup('other'), { identityFiles: [] }, "an included Host block still needs the enclosing block's pattern");
});
