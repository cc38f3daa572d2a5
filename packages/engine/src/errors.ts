/**
 * Every error the engine raises on purpose is a DysnomiaError: it carries a
 * stable code, the exit status the CLI should use, and (where there is one)
 * the file and line the problem is in. Anything else reaching the CLI is a bug
 * and is reported with its stack.
 */
export type ErrorCode =
  | 'ERR_DYSNOMIA_USAGE'
  | 'ERR_DYSNOMIA_INPUT'
  | 'ERR_DYSNOMIA_CONFIG'
  | 'ERR_DYSNOMIA_CONTAINER_SYNTAX'
  | 'ERR_DYSNOMIA_CONTAINER_NOT_FOUND'
  | 'ERR_DYSNOMIA_COMPONENT_NOT_FOUND'
  | 'ERR_DYSNOMIA_MODULE_NOT_FOUND'
  | 'ERR_DYSNOMIA_INVALID_PLUGIN'
  | 'ERR_DYSNOMIA_INCOMPATIBLE_PLUGIN'
  | 'ERR_DYSNOMIA_UNSUPPORTED_OPERATION'
  | 'ERR_DYSNOMIA_PLUGIN_FAILED'
  | 'ERR_DYSNOMIA_HOOK_FAILED'
  | 'ERR_DYSNOMIA_MODULE_FAILED'
  | 'ERR_DYSNOMIA_AGENT'
  | 'ERR_DYSNOMIA_TIMEOUT'
  | 'ERR_DYSNOMIA_LOCKED'
  | 'ERR_DYSNOMIA_DEPLOY_FAILED'
  | 'ERR_DYSNOMIA_STATE'
  | 'ERR_DYSNOMIA_UNREACHABLE';

/** Exit status 2: bad usage or bad input, nothing was run. */
export const EXIT_BAD_INPUT = 2;
/** Exit status 1: an operation ran and failed. */
export const EXIT_OPERATION_FAILED = 1;

export interface Location {
  file: string;
  line?: number;
}

export class DysnomiaError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly location: Location | undefined;

  constructor(code: ErrorCode, message: string, options: { exitCode?: number; location?: Location; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DysnomiaError';
    this.code = code;
    this.exitCode = options.exitCode ?? EXIT_BAD_INPUT;
    this.location = options.location;
  }
}

/** A problem in an input file: the message starts with file:line as compilers print it. */
export function inputError(code: ErrorCode, location: Location, message: string): DysnomiaError {
  const where = location.line === undefined ? location.file : `${location.file}:${location.line}`;
  return new DysnomiaError(code, `${where}: ${message}`, { location });
}

export interface PluginErrorOptions {
  code?: ErrorCode;
  /** "plugin" or "module": what the message calls the culprit. */
  kind?: string;
  exitCode?: number;
  location?: Location;
  /** The tap's own name, when it differs from the plugin that registered it. */
  tap?: string;
}

/** An error raised by a plugin or a hook tap, with who raised it and where. */
export class PluginError extends DysnomiaError {
  readonly plugin: string;
  readonly hook: string;
  readonly tap: string | undefined;

  constructor(plugin: string, hook: string, cause: unknown, options: PluginErrorOptions = {}) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const tap = options.tap !== undefined && options.tap !== plugin ? options.tap : undefined;
    const culprit = `${options.kind ?? 'plugin'} "${plugin}"${tap === undefined ? '' : ` (tap "${tap}")`}`;
    super(options.code ?? 'ERR_DYSNOMIA_PLUGIN_FAILED', `${culprit} failed in ${hook}: ${reason}`, {
      exitCode: options.exitCode ?? EXIT_OPERATION_FAILED,
      cause,
      location: options.location,
    });
    this.name = 'PluginError';
    this.plugin = plugin;
    this.hook = hook;
    this.tap = tap;
  }
}

/** A plugin whose `engine` range excludes this engine's API version. */
export class IncompatiblePluginError extends DysnomiaError {
  readonly plugin: string;
  readonly range: string;
  readonly engineVersion: string;

  constructor(plugin: string, type: string, range: string, engineVersion: string) {
    super(
      'ERR_DYSNOMIA_INCOMPATIBLE_PLUGIN',
      `plugin "${plugin}" (type ${type}) requires engine API ${range}, but this engine provides API ${engineVersion}; ` +
        `install a version of the plugin that supports engine API ${engineVersion}`,
    );
    this.name = 'IncompatiblePluginError';
    this.plugin = plugin;
    this.range = range;
    this.engineVersion = engineVersion;
  }
}

/**
 * With this variable set to "json", a command prints its error as one JSON
 * line on stderr ({"error":{"code","message","exitCode"}}): what a
 * coordinator reads from a command it runs on a target, so a failure there
 * keeps its code and exit status.
 */
export const ERROR_FORMAT_ENV = 'DYSNOMIA_ERROR_FORMAT';

export function errorLine(error: DysnomiaError): string {
  return `${JSON.stringify({ error: { code: error.code, message: error.message, exitCode: error.exitCode } })}\n`;
}

/** The error a command printed with ERROR_FORMAT_ENV=json (its last such line), if it printed one. */
export function parseErrorLine(stderr: string): { code: ErrorCode; message: string; exitCode: number } | undefined {
  for (const line of stderr.trim().split('\n').reverse()) {
    if (!line.startsWith('{"error":')) continue;
    try {
      const { error } = JSON.parse(line) as { error: { code: ErrorCode; message: string; exitCode: number } };
      if (typeof error?.code === 'string' && typeof error.message === 'string' && typeof error.exitCode === 'number') return error;
    } catch {
      // Not ours: go on looking.
    }
  }
  return undefined;
}

export function isDysnomiaError(error: unknown): error is DysnomiaError {
  return error instanceof DysnomiaError;
}

/** Bad usage of a command (exit status 2): the message names the argument and what it takes. */
export function usageError(message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_USAGE', message);
}
