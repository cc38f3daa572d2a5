import { parseArgs } from 'node:util';
import { DysnomiaError, ERROR_FORMAT_ENV, errorLine, EXIT_OPERATION_FAILED } from '../errors.js';
import { didYouMean } from '../suggest.js';

/**
 * Runs a command's main function and turns its outcome into an exit status:
 * DysnomiaErrors print their message (the stack only with --debug); anything
 * else is a bug and prints its stack.
 */
export async function runCli(
  program: string,
  main: (argv: string[]) => Promise<number | void>,
  options: { /** The command whose --help a usage error points to (`dysnomia deploy`); default `program`. */ helpCommand?: (argv: string[]) => string } = {},
): Promise<void> {
  const argv = process.argv.slice(2);
  const debug = argv.includes('--debug');
  // `dysnomia-containers --query-containers | head -1`: a reader that stops early is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  try {
    process.exitCode = (await main(argv)) ?? 0;
  } catch (error) {
    if (error instanceof DysnomiaError && process.env[ERROR_FORMAT_ENV] === 'json') {
      process.stderr.write(errorLine(error));
      process.exitCode = error.exitCode;
    } else if (error instanceof DysnomiaError) {
      process.stderr.write(`${program}: error: ${error.message}\n`);
      if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
      if (debug && error.cause instanceof Error && error.cause.stack) process.stderr.write(`caused by: ${error.cause.stack}\n`);
      if (!debug && error.code === 'ERR_DYSNOMIA_USAGE') process.stderr.write(`Try '${options.helpCommand?.(argv) ?? program} --help' for the options.\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`${program}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT_OPERATION_FAILED;
    }
  }
}

/** A count option's value (--max-concurrent-transfers=N): a whole number from 1 to `max`, else a usage error naming the option. */
export function countOption(option: string, raw: string, max: number): number {
  if (!/^[1-9]\d*$/.test(raw) || Number(raw) > max) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `--${option} takes a whole number from 1 to ${max}, not '${raw}'`);
  return Number(raw);
}

/** node:util parseArgs, with its errors turned into usage errors naming the argument. */
type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };
type ParsedOptions<T extends Record<string, OptionSpec>> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;

export function parseOptions<T extends Record<string, OptionSpec>>(argv: string[], options: T, allowPositionals = false): ParsedOptions<T> {
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    if (!allowPositionals && parsed.positionals.length > 0) {
      throw new Error(`unexpected argument "${parsed.positionals[0]}"`);
    }
    return parsed;
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `${message}${suggestOption(message, Object.keys(options))}`);
  }
}

/** For parseArgs' "Unknown option '--dry-rn'": the nearest long option, as `: did you mean '--dry-run'?`. */
function suggestOption(message: string, names: readonly string[]): string {
  const unknown = /^Unknown option '(--[^'=]+)/.exec(message)?.[1];
  return unknown === undefined ? '' : didYouMean(unknown, names.map((name) => `--${name}`), (option) => `'${option}'`);
}

/**
 * An abort signal fired by the first SIGINT or SIGTERM, so modules running
 * for the CLI are stopped (SIGTERM, then SIGKILL) rather than orphaned; a
 * second signal exits at once.
 */
export function abortOnSignals(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\ninterrupted (${signal}): stopping the running module\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  return controller.signal;
}
