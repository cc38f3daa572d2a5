import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import t from 'tap';
import { packageChanges } from '../src/deploy/deploy-packages.js';
import { describe, jsonReporter, plainReporter, terminalReporter } from '../src/deploy/progress.js';

const H = (n: number) => String(n).repeat(32).slice(0, 32);

t.test('packageChanges: added, removed and changed by package name', async (t) => {
  const current = [`${H(1)}-hello`, `${H(2)}-greet`, `${H(3)}-old`];
  const wanted = [`${H(4)}-hello`, `${H(2)}-greet`, `${H(5)}-new`];
  t.same(packageChanges(current, wanted), { added: ['new'], removed: ['old'], changed: ['hello'], unchanged: 1 });
  t.same(packageChanges([], []), { added: [], removed: [], changed: [], unchanged: 0 });
  t.equal(describe({ event: 'packages', target: 't', profile: 'default', ...packageChanges(current, wanted) }), 'profile default: adds new; changes hello; removes old (1 unchanged)');
  t.equal(describe({ event: 'packages', target: 't', profile: 'default', ...packageChanges(current, current) }), 'profile default: no package changes (3 unchanged)');
});

t.test('the plan names each service per target and container; generations say whose they are', async (t) => {
  const text = describe({
    event: 'transition',
    from: 4,
    deactivate: ['web@test1:tomcat#1'],
    activate: ['web@test2:tomcat#2', 'db@test2:mysql#3'],
    unchanged: 7,
    plan: {
      deactivate: [{ service: 'web', target: 'test1', container: 'tomcat', type: 'tomcat-webapplication' }],
      activate: [
        { service: 'web', target: 'test2', container: 'tomcat', type: 'tomcat-webapplication' },
        { service: 'db', target: 'test2', container: 'mysql', type: 'mysql-database' },
      ],
    },
  });
  t.equal(
    text,
    '1 to deactivate, 2 to activate, 7 unchanged (from deployment generation 4)\n' +
      '  test1: deactivate web (tomcat-webapplication) in tomcat\n' +
      '  test2: activate web (tomcat-webapplication) in tomcat\n' +
      '  test2: activate db (mysql-database) in mysql',
  );
  t.equal(describe({ event: 'profile', target: 'a', profile: 'p', generation: 3, changed: true }), 'done: profile p at target generation 3');
  t.equal(describe({ event: 'manifest', profile: 'p', generation: 1, file: '/x' }), 'deployment recorded here: profile p, deployment generation 1');
  t.equal(describe({ event: 'plan', target: 'a', closure: 0, missing: [], bytes: 0 }), 'nothing to send', 'no "all 0 entries"');
});

/** A stream that keeps what is written, and lets a test wait for a text to appear (however slow the machine). */
function sink() {
  let text = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      for (const w of [...waiters]) if (w.pattern.test(text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      done();
    },
  });
  return {
    stream,
    text: () => text,
    waitFor: (pattern: RegExp) => (pattern.test(text) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ pattern, resolve }))),
  };
}

t.test('a terminal shows an operation running longer than a second with its elapsed time, until it ends', async (t) => {
  const out = sink();
  const reporter = terminalReporter(out.stream);
  const step = { target: 'test1', action: 'activate', service: 'db', container: 'mysql' };
  reporter.emit({ event: 'step-started', ...step });
  t.match(out.text(), /test1: activating db in mysql\n/, 'the operation is shown as it starts');
  // The reporter's timer never keeps a process alive; this test's wait does.
  const alive = setInterval(() => {}, 1000);
  await out.waitFor(/test1: activating db in mysql \(\d+ s\)/);
  clearInterval(alive);
  t.pass('then with the time it has taken');
  reporter.emit({ event: 'step', ...step, status: 'done' });
  const after = out.text().length;
  t.match(out.text().slice(after - 40), /test1: activate db in mysql\n$/, 'and its end replaces it');
  reporter.finish();
});

t.test('a plain log does not print the start of an operation; it says so only when it runs long', async (t) => {
  const out = sink();
  const reporter = plainReporter(out.stream);
  const step = { target: 'test1', action: 'activate', service: 'db', container: 'mysql' };
  reporter.emit({ event: 'step-started', ...step });
  reporter.emit({ event: 'step', ...step, status: 'done' });
  reporter.finish();
  t.equal(out.text(), 'test1: activate db in mysql\n');
});

t.test('--json: the events of one turn go out in one write, in order, and finish() writes what is left', async (t) => {
  const exitListeners = process.listenerCount('exit');
  const writes: string[] = [];
  const out = new Writable({ write: (chunk, _encoding, done) => (writes.push(String(chunk)), done()) });
  const reporter = jsonReporter(out);
  for (let i = 0; i < 200; i++) reporter.emit({ event: 'built', source: `/components/c${i}`, entry: `${H(1)}-c${i}` });
  t.same(writes, [], 'nothing written in the middle of the turn');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(writes.length, 1, 'one write for the turn');
  const lines = writes[0]!.split('\n');
  t.equal(lines.pop(), '', 'each event ends its line');
  t.same(lines.map((line) => JSON.parse(line).source), Array.from({ length: 200 }, (_, i) => `/components/c${i}`));
  t.same(JSON.parse(lines[0]!), { v: 1, event: 'built', source: '/components/c0', entry: `${H(1)}-c0` });
  reporter.emit({ event: 'built', source: '/components/last', entry: `${H(2)}-last` });
  reporter.finish();
  t.equal(writes.length, 2);
  t.equal(JSON.parse(writes[1]!).source, '/components/last', 'finish() writes at once');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(writes.length, 2, 'and the turn\'s end then has nothing left to write');
  t.equal(process.listenerCount('exit'), exitListeners, 'no exit listener left behind');
});

t.test('--json: many reporters waiting at once share one exit listener, and an exit writes them all', async (t) => {
  const progress = new URL('../dist/deploy/progress.js', import.meta.url).href;
  const script = `const { jsonReporter } = await import(${JSON.stringify(progress)});
    const before = process.listenerCount('exit');
    for (let i = 0; i < 20; i++) jsonReporter(process.stdout).emit({ event: 'built', source: 'r' + i, entry: 'e' });
    process.stderr.write(String(process.listenerCount('exit') - before));
    process.exit(0);`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  t.equal(child.status, 0);
  t.equal(child.stderr, '1', 'one exit listener for the 20');
  t.same(child.stdout.trim().split('\n').map((line) => JSON.parse(line).source), Array.from({ length: 20 }, (_, i) => `r${i}`), 'each reporter\'s line, once');
});

t.test('transfer lines count one entry in the singular, and say the bytes sent are an archive\'s', async (t) => {
  t.equal(describe({ event: 'plan', target: 't', closure: 1, missing: [`${H(1)}-a`], bytes: 757 }), '1 of 1 entry to send (757 B)');
  t.equal(describe({ event: 'plan', target: 't', closure: 2, missing: [`${H(1)}-a`, `${H(2)}-b`], bytes: 757 }), '2 of 2 entries to send (757 B)');
  t.equal(describe({ event: 'plan', target: 't', closure: 1, missing: [], bytes: 0 }), 'nothing to send: the entry is already there');
  t.equal(describe({ event: 'plan', target: 't', closure: 3, missing: [], bytes: 0 }), 'nothing to send: all 3 entries already there');
  t.equal(describe({ event: 'progress', target: 't', entriesSent: 0, entries: 1, bytesSent: 387, bytes: 757 }), '0/1 entry, 387 B of 757 B');
  t.equal(describe({ event: 'transferred', target: 't', entries: 1, bytes: 5507 }), 'sent 1 entry (5.4 KiB as an archive)');
  t.equal(describe({ event: 'transferred', target: 't', entries: 2, bytes: 5507 }), 'sent 2 entries (5.4 KiB as an archive)');
});
