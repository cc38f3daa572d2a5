import { fork } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { BuildChildAnswer } from './build-child.js';
import type { AgentAnswers, BuildRecipe } from './protocol.js';

const CHILD = fileURLToPath(new URL('./build-child.js', import.meta.url));

/** A recipe from a coordinator, checked for its shape (names and paths are checked where they are used). */
function checkedRecipe(value: unknown): BuildRecipe {
  const recipe = value as Partial<Record<string, unknown>> | null;
  const text = (key: string, optional = false) => (optional && recipe?.[key] === undefined) || typeof recipe?.[key] === 'string';
  const valid =
    recipe?.recipe === 'function'
      ? text('name') && text('entryName', true) && text('source') && text('key')
      : recipe?.recipe === 'npm' && text('tarball') && text('name', true);
  if (!valid) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `not a build recipe: ${JSON.stringify(value)?.slice(0, 200)}`);
  return recipe as unknown as BuildRecipe;
}

/**
 * The `build` request: builds in a child Node process of the target (its
 * Node, its toolchain, DYSNOMIA_STATEDIR its state folder), handing what the
 * build prints to `output` as it comes.
 */
export async function runBuildRequest(
  stateDir: string,
  value: unknown,
  options: { env: NodeJS.ProcessEnv; output: (chunk: Buffer, stream: 'stdout' | 'stderr') => void },
): Promise<AgentAnswers['build']> {
  const recipe = checkedRecipe(value);
  const label = recipe.recipe === 'function' ? `component ${recipe.name}` : `npm package ${recipe.tarball}`;
  await mkdir(stateDir, { recursive: true });
  const child = fork(CHILD, [], { cwd: stateDir, env: { ...options.env, DYSNOMIA_STATEDIR: stateDir }, execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.stdout!.on('data', (chunk: Buffer) => options.output(chunk, 'stdout'));
  child.stderr!.on('data', (chunk: Buffer) => options.output(chunk, 'stderr'));
  let answer: BuildChildAnswer | undefined;
  child.on('message', (message: BuildChildAnswer) => (answer = message));
  child.send({ stateDir, recipe });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (answer?.ok) resolve({ entry: answer.entry });
      else if (answer) reject(new DysnomiaError(answer.code as ErrorCode, answer.message, { exitCode: answer.exitCode }));
      else reject(new DysnomiaError('ERR_DYSNOMIA_AGENT', `building ${label}: the build process ended (${signal ?? `exit status ${code}`}) without an answer`, { exitCode: EXIT_OPERATION_FAILED }));
    });
  });
}
