/**
 * Indirect eval of a build function's source text (build-recipe.ts), from a
 * module Node compiles itself. Code V8 took from a code cache (the engine's
 * bundle, src/bundle-loader.cts) cannot run import(), and eval'd code imports
 * as the code that called eval: a build function imports with await import().
 * At the top level, so a name the function took from around it on the
 * coordinator is a ReferenceError here. CommonJS, so the bundle requires it
 * from dist/ rather than holding it (scripts/bundle.mjs).
 */
export function evaluateGlobally(text: string): unknown {
  return (0, eval)(text);
}
