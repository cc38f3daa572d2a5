import { PassThrough } from 'node:stream';
import t from 'tap';
import { createProcessRunner } from '../src/process-runner.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function runner() {
  return createProcessRunner({
    env: process.env,
    cwd: process.cwd(),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    signal: new AbortController().signal,
    log: quiet,
  });
}

t.test('a child that exits without reading its input fails by its exit status, not with EPIPE', async (t) => {
  const run = runner();
  // Several MB: more than a pipe buffer, so writing runs into the closed pipe.
  const input = 'x'.repeat(8 * 1024 * 1024);
  const error = await run('/bin/sh', ['-c', 'exit 3'], { input, output: 'capture' }).then(
    () => undefined,
    (e: Error & { exitCode?: number }) => e,
  );
  t.ok(error, 'the run is rejected');
  t.equal(error?.exitCode, 3);
  t.match(error?.message, /exited with status 3/);
  const ok = await run('/bin/sh', ['-c', 'exit 0'], { input, output: 'capture' });
  t.equal(ok.exitCode, 0, 'a child that ignores its input and succeeds is a success');
});

t.test('input reaches the child on stdin', async (t) => {
  const result = await runner()('/bin/cat', [], { input: 'secret stays off the command line', output: 'capture' });
  t.equal(result.stdout, 'secret stays off the command line');
});
