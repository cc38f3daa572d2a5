import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import type { OperationContext } from '@dysnomia/engine';
import { connectionSettings, containerLabel, describeTarget } from './connection.js';
import type { ConnectionSettings } from './connection.js';
import { withOptionFile } from './option-file.js';

/** Client error numbers that mean "no server there" (CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR, CR_SERVER_LOST, …). */
const CONNECTION_ERROR = /ERROR 20(0[0-9]|1[0-3]|26)\b/;

/** The MySQL client programs in use: MariaDB's names first, MySQL's as a fallback. */
interface Programs {
  client: string;
  dump: string;
}

/** One operation's connection to the container's server: the settings and the option file holding them. */
export interface Session {
  ctx: OperationContext;
  settings: ConnectionSettings;
  /** `container "NAME" (FILE)`. */
  label: string;
  /** Runs one or more short statements (`--execute`; nothing secret goes in them); returns the output, tab-separated, no headers. */
  query(statements: string): Promise<string>;
  /** Feeds a SQL file to the client on its standard input, so DELIMITER blocks work as in `mysql < file`. */
  runFile(file: string, options?: { database?: string }): Promise<void>;
  /** Runs the dump program with these arguments (after the connection options). */
  dump(args: string[]): Promise<void>;
}

async function findProgram(ctx: OperationContext, names: string[]): Promise<string> {
  const dirs = (ctx.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter(Boolean);
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
    }
  }
  throw new Error(`none of ${names.join(', ')} is on PATH (${dirs.join(':')}); install it: apt-get install mariadb-client`);
}

/**
 * The program with its standard input read from a file. A fixed sh script
 * does the redirection (the file and arguments are passed as "$@", never
 * interpreted), so the client reads the file itself: no SQL in our memory,
 * and no broken pipe when the client stops early at an error.
 */
function withStdinFrom(stdinFile: string | undefined, program: string, args: string[]): [string, string[]] {
  if (stdinFile === undefined) return [program, args];
  return ['/bin/sh', ['-c', 'file=$1; shift; exec "$@" < "$file"', 'sh', stdinFile, program, ...args]];
}

/** The stderr of a failed ctx.run, or its message. */
function failureText(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  const text = typeof stderr === 'string' && stderr.trim() !== '' ? stderr : (error as Error).message;
  // The client echoes the failing statement between dashed lines before the error; the ERROR lines say enough.
  const errors = text.split('\n').filter((line) => /^(ERROR|mysql(dump)?:|mariadb(-dump)?:)/.test(line.trim()));
  return (errors.length > 0 ? errors.join('\n') : text).trim();
}

function sessionError(label: string, settings: ConnectionSettings, error: unknown): Error {
  const text = failureText(error);
  if (CONNECTION_ERROR.test(text)) {
    return new Error(`${label}: cannot connect to the MySQL/MariaDB server at ${describeTarget(settings)}; is it running? (${text})`);
  }
  return new Error(`${label}: ${text}`);
}

/** Opens a session for the operation, runs `use`, and removes the option file afterwards. */
export async function withSession<T>(ctx: OperationContext, use: (session: Session) => Promise<T>): Promise<T> {
  const settings = connectionSettings(ctx);
  const label = containerLabel(ctx);
  const programs: Partial<Programs> = {};
  const program = async (kind: keyof Programs): Promise<string> =>
    (programs[kind] ??= await findProgram(ctx, kind === 'client' ? ['mariadb', 'mysql'] : ['mariadb-dump', 'mysqldump']));

  return withOptionFile(settings, async (optionFile) => {
    const connect = [`--defaults-file=${optionFile}`];
    const run = async (kind: keyof Programs, args: string[], stdinFile?: string): Promise<string> => {
      const [file, fileArgs] = withStdinFrom(stdinFile, await program(kind), [...connect, ...args]);
      try {
        return (await ctx.run(file, fileArgs, { output: 'capture' })).stdout;
      } catch (error) {
        throw sessionError(label, settings, error);
      }
    };
    return use({
      ctx,
      settings,
      label,
      query: (statements) => run('client', ['--batch', '--skip-column-names', `--execute=${statements}`]),
      runFile: async (file, options = {}) => {
        await run('client', ['--batch', ...(options.database === undefined ? [] : [`--database=${options.database}`])], file);
      },
      dump: async (args) => {
        await run('dump', args);
      },
    });
  });
}
