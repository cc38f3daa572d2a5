import { DysnomiaError } from '../errors.js';
import { assertProfileName } from '../profiles/names.js';
import { Profiles, parseGenerationSelector } from '../profiles/profiles.js';
import { parseOptions } from './run-cli.js';
import { stateDirFromEnvironment } from './store-command.js';
import { printVersion } from './version-text.js';

export const HELP = `Usage: dysnomia profile [--profile NAME] OPERATION [ARG]...

Manages profiles, STATEDIR/profiles/NAME: each links to its current
generation, a tree merging the bin/, etc/, share/ and lib/ folders of the
profile's packages. Put STATEDIR/profiles/NAME/bin on your PATH.

Operations (one at a time):
      --install ENTRY|SOURCE...
                       Make these exactly the profile's packages: store
                       entries, or sources (folders, tarballs, npm:SPEC)
                       added to the store first. A new generation unless the
                       set is the current one; two packages providing the
                       same file are refused, naming both
      --etc-only=ENTRY  With --install (repeatable): also this entry, of
                       which only etc/ is merged (a service a deployment
                       activated: the containers and modules it provides)
      --allow-empty    With --install and no entry: an empty generation
                       (what an undeployed profile holds)
      --list-generations
                       List the profile's generations (* marks the current)
      --rollback       Switch to the generation before the current one
      --switch-to-generation=N
                       Switch to generation N
      --delete-generations old|N...|Nd
                       Delete all generations but the current one (old),
                       the given ones, or those older than N days; the
                       current one is never deleted. Their packages go at
                       the next "dysnomia store --gc"
      --packages       Print the paths of the packages in the current
                       generation
      --list           List the profiles
  -h, --help           Show this help
  -v, --version        Show the version

Parameters:
  -p, --profile=NAME   The profile (default: default)
      --json           Print the result as JSON
      --debug          Show stack traces on errors

Environment:
  DYSNOMIA_STATEDIR  The state folder (default: the config's stateDir, else
                     /var/state/dysnomia for root, ~/.dysnomia otherwise)

Exit status: 0 success; 1 an operation failed (conflicting packages, nothing
to roll back to); 2 bad usage or bad input.
`;

const OPERATIONS = ['install', 'list-generations', 'rollback', 'switch-to-generation', 'delete-generations', 'packages', 'list'] as const;
type Operation = (typeof OPERATIONS)[number];

export const OPTIONS = {
  install: { type: 'boolean' },
  'etc-only': { type: 'string', multiple: true },
  'allow-empty': { type: 'boolean' },
  'list-generations': { type: 'boolean' },
  rollback: { type: 'boolean' },
  'switch-to-generation': { type: 'string' },
  'delete-generations': { type: 'boolean' },
  packages: { type: 'boolean' },
  list: { type: 'boolean' },
  profile: { type: 'string', short: 'p' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export async function profileCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, OPTIONS, true);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) return printVersion('dysnomia');

  const chosen = OPERATIONS.filter((operation) => values[operation] !== undefined && values[operation] !== false);
  const operation: Operation | undefined = chosen[0];
  if (operation === undefined) throw usage(`no operation given: use one of ${OPERATIONS.map((o) => `--${o}`).join(', ')}`);
  if (chosen.length > 1) throw usage(`only one operation at a time: ${chosen.map((o) => `--${o}`).join(' and ')}`);
  const takesArgs = operation === 'install' || operation === 'delete-generations';
  const emptyAllowed = operation === 'install' && (values['allow-empty'] === true || (values['etc-only'] ?? []).length > 0);
  if (takesArgs && positionals.length === 0 && !emptyAllowed) throw usage(`--${operation} needs at least one argument`);
  if (!takesArgs && positionals.length > 0) throw usage(`unexpected argument for --${operation}: ${positionals[0]}`);
  let profile = 'default';
  if (values.profile !== undefined) {
    if (operation === 'list') throw usage('--list lists every profile: --profile does not apply');
    try {
      profile = assertProfileName(values.profile);
    } catch (error) {
      throw usage(`--profile: ${(error as Error).message}`);
    }
  }

  const profiles = Profiles.at(await stateDirFromEnvironment());
  const store = profiles.store;
  const print = (lines: string[], json: unknown) => {
    if (values.json) process.stdout.write(`${JSON.stringify(json)}\n`);
    else if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  };

  switch (operation) {
    case 'install': {
      const entries: string[] = [];
      for (const arg of positionals) {
        const entry = store.entryOf(arg);
        entries.push(entry !== undefined && (await store.has(entry)) ? entry : await store.add(arg, { cwd: process.cwd(), log: (m) => process.stderr.write(`${m}\n`) }));
      }
      const result = await profiles.install(profile, entries, values['etc-only'] ?? []);
      print([result.changed ? `profile ${profile}: generation ${result.generation}` : `profile ${profile}: unchanged, generation ${result.generation}`], {
        profile,
        ...result,
        packages: entries.map((e) => store.path(e)),
      });
      return 0;
    }
    case 'list-generations': {
      const generations = await profiles.generations(profile);
      print(
        generations.map((g) => `${String(g.number).padStart(4)}   ${formatDate(g.created)}   ${g.current ? '(current)' : ''}`.trimEnd()),
        generations.map((g) => ({ generation: g.number, current: g.current, created: g.created.toISOString(), path: store.path(g.entry) })),
      );
      return 0;
    }
    case 'rollback': {
      const generation = await profiles.rollback(profile);
      print([`profile ${profile}: generation ${generation}`], { profile, generation });
      return 0;
    }
    case 'switch-to-generation': {
      const raw = values['switch-to-generation']!;
      if (!/^\d+$/.test(raw)) throw usage(`--switch-to-generation takes a generation number, not '${raw}'`);
      await profiles.switchTo(profile, Number(raw));
      print([`profile ${profile}: generation ${Number(raw)}`], { profile, generation: Number(raw) });
      return 0;
    }
    case 'delete-generations': {
      const deleted = await profiles.deleteGenerations(profile, parseGenerationSelector(positionals));
      print(deleted.map((n) => `deleted generation ${n}`), { profile, deleted });
      return 0;
    }
    case 'packages': {
      const packages = (await profiles.packages(profile)).map((e) => store.path(e));
      print(packages, packages);
      return 0;
    }
    case 'list': {
      const names = await profiles.list();
      print(names, names.map((name) => ({ name, path: profiles.path(name) })));
      return 0;
    }
  }
}

function formatDate(date: Date): string {
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

function usage(message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_USAGE', message);
}
