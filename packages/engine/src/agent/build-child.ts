/**
 * The process a target's agent runs a build in (build-request.ts): its own
 * stdout and stderr, so what a build prints cannot mix with the agent's
 * protocol lines, and a build that leaves timers or handles behind ends with it.
 */
import { DysnomiaError } from '../errors.js';
import { buildFromRecipe } from '../store/build-recipe.js';
import { Store } from '../store/store.js';
import type { BuildRecipe } from './protocol.js';

export type BuildChildAnswer = { ok: true; entry: string } | { ok: false; code: string; message: string; exitCode: number };

process.once('message', (message: { stateDir: string; recipe: BuildRecipe }) => {
  void buildFromRecipe(Store.at(message.stateDir), message.recipe, (line) => process.stderr.write(`${line}\n`)).then(
    (entry) => answer({ ok: true, entry }),
    (error: unknown) =>
      answer(
        error instanceof DysnomiaError
          ? { ok: false, code: error.code, message: error.message, exitCode: error.exitCode }
          : { ok: false, code: 'ERR_DYSNOMIA_INPUT', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error), exitCode: 1 },
      ),
  );
});

function answer(value: BuildChildAnswer): void {
  process.send!(value, () => process.exit(0));
}
