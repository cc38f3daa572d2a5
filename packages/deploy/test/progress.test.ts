import { Writable } from 'node:stream';
import t from 'tap';
import { packageChanges } from '../src/deploy/deploy-packages.js';
import { describe, plainReporter, terminalReporter } from '../src/deploy/progress.js';

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
