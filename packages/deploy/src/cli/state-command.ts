import { chooseStateDir } from '@dysnomia/engine/internal/state-dir.js';
import { loadConfig, postgresUrlProblem } from '@dysnomia/engine/internal/config.js';
import { currentHolder } from '@dysnomia/engine/internal/locks/profile-lock.js';
import { usageError as usage } from '@dysnomia/engine/internal/errors.js';
import { plainReporter } from '../deploy/progress.js';
import { FileState } from '../deploy/state/file-state.js';
import { stateBackendFor } from '../deploy/state/open-state.js';
import { PostgresState } from '../deploy/state/postgres-state.js';
import { migrateProfile } from '../deploy/state/migrate.js';
import { assertProfileName } from '@dysnomia/engine/internal/profiles/index.js';
import { parseOptions } from '@dysnomia/engine/internal/cli/run-cli.js';

export const HELP = `Usage: dysnomia state [--json]
  or:  dysnomia state migrate --to postgres [--url URL] [-p PROFILE]...

Where this coordinator keeps its deployment records, generations and profile
locks: the config's "state" ({ backend: "file" }, the default: the state
folder; or { backend: "postgres", url: "postgres://USER@HOST:PORT/DATABASE" },
shared by every coordinator that names the same database).

Without a subcommand: prints the backend and the profiles it has records of.

migrate --to postgres: copies the deployment records of this machine's state
folder (STATEDIR/deployments) into PostgreSQL, generation numbers, times and
the current generation kept, one transaction per profile, each under the
profile's lock. A profile PostgreSQL already has records of is refused,
unless they are the same (then it says so and copies nothing). The files stay
where they are; once the config says backend "postgres" they are not read.

Options:
      --to=BACKEND     postgres (the only destination there is)
      --url=URL        The database (default: the config's state.url); never
                       with a password in it
  -p, --profile=NAME   Only this profile (repeatable); default: every profile
                       with records in the state folder
      --json           Print JSON
      --debug          Show stack traces
  -h, --help           Show this help

The password comes from PGPASSFILE, ~/.pgpass or PGPASSWORD, never from the
command line or the config, and is never printed.

Exit status: 0 success; 1 the database could not be reached or refused, or a
lock is held; 2 bad usage, a bad URL, or a profile with other records there.
`;

export const OPTIONS = {
  to: { type: 'string' },
  url: { type: 'string' },
  profile: { type: 'string', short: 'p', multiple: true },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;


export async function stateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, true);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const [subcommand, ...extra] = positionals;
  if (extra.length > 0) throw usage(`unexpected argument "${extra[0]}"`);
  const config = await loadConfig(process.cwd());
  const stateDir = chooseStateDir(config.stateDir);
  if (subcommand === undefined) {
    if (values.to !== undefined || values.url !== undefined) throw usage('--to and --url go with "migrate"');
    const state = stateBackendFor(config, stateDir);
    try {
      const profiles = await state.profiles();
      if (values.json) process.stdout.write(`${JSON.stringify({ backend: state.kind, where: state.description, profiles })}\n`);
      else process.stdout.write(`${state.kind}: ${state.description}\nprofiles: ${profiles.join(', ') || 'none'}\n`);
    } finally {
      await state.close();
    }
    return 0;
  }
  if (subcommand !== 'migrate') throw usage(`unknown subcommand "${subcommand}" (known: migrate)`);
  if (values.to !== 'postgres') throw usage(values.to === undefined ? 'migrate needs --to postgres' : `--to ${values.to}: the only destination is postgres`);
  const url = values.url ?? (config.state?.backend === 'postgres' ? config.state.url : undefined);
  if (url === undefined) throw usage('no PostgreSQL URL: pass --url postgres://USER@HOST:PORT/DATABASE, or set state: { backend: "postgres", url } in the config');
  const problem = postgresUrlProblem(url);
  if (problem) throw usage(`--url ${problem}`);
  const profiles = values.profile?.map((p) => {
    try {
      return assertProfileName(p);
    } catch (error) {
      throw usage(`--profile: ${(error as Error).message}`);
    }
  });

  const files = new FileState(stateDir);
  const postgres = new PostgresState(url, stateDir);
  const holder = currentHolder();
  const outcomes = [];
  try {
    for (const profile of profiles ?? (await files.profiles())) {
      const outcome = await migrateProfile(files, postgres, profile, { reporter: plainReporter(process.stderr), breakStaleLock: false }, holder);
      outcomes.push(outcome);
      if (!values.json) {
        process.stdout.write(
          outcome.copied.length === 0
            ? `profile ${profile}: ${outcome.reason}\n`
            : `profile ${profile}: copied generations ${outcome.copied.join(', ')} (current ${outcome.current ?? 'none'}) to ${postgres.description}\n`,
        );
      }
    }
  } finally {
    await postgres.close();
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ to: postgres.description, profiles: outcomes })}\n`);
  else if (outcomes.length === 0) process.stdout.write(`no deployment records in ${files.description}\n`);
  return 0;
}
