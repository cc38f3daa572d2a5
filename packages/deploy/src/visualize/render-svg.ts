import { DysnomiaError, EXIT_OPERATION_FAILED } from '@dysnomia/engine/internal/errors.js';
import { runChild } from '@dysnomia/engine/internal/process-runner.js';

export const GRAPHVIZ_HINT = 'install graphviz (apt-get install graphviz)';

/** DOT → SVG with Graphviz's `dot -Tsvg` (found on PATH); no graphviz is exit status 1 with how to get it. */
export async function renderSvg(dot: string, env: Record<string, string | undefined> = process.env): Promise<string> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const outcome = await runChild('dot', ['-Tsvg'], { env, cwd: process.cwd(), stdio: ['pipe', 'pipe', 'pipe'], input: dot }, (child) => {
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  });
  if (outcome.spawnError !== undefined) {
    const missing = (outcome.spawnError as NodeJS.ErrnoException).code === 'ENOENT';
    throw new DysnomiaError('ERR_DYSNOMIA_MODULE_NOT_FOUND', missing ? `--format svg needs Graphviz's "dot" program, not found on PATH: ${GRAPHVIZ_HINT}` : `cannot run Graphviz's "dot": ${outcome.spawnError.message}`, {
      exitCode: EXIT_OPERATION_FAILED,
    });
  }
  if (outcome.exitCode !== 0) {
    const why = outcome.signal !== null ? `was killed by ${outcome.signal}` : `exited with status ${outcome.exitCode}`;
    const said = Buffer.concat(stderr).toString().trim();
    throw new DysnomiaError('ERR_DYSNOMIA_MODULE_FAILED', `Graphviz's "dot -Tsvg" ${why}${said ? `: ${said}` : ''}`, { exitCode: EXIT_OPERATION_FAILED });
  }
  return Buffer.concat(stdout).toString();
}
