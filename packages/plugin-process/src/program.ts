import { access, constants, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError, parseContainerFile } from '@dysnomia/engine';

/** What to start for a component, and how to find it again. */
export interface ProgramSpec {
  /** Absolute path of the program. */
  program: string;
  /**
   * Set when the program daemonizes itself and writes this pid file
   * (`pidFile=` in etc/dysnomia/process/*). Unset: the program stays in the
   * foreground and the plugin daemonizes it.
   */
  pidFile?: string;
  /** The etc/dysnomia/process file it came from, if any. */
  configFile?: string;
}

function componentError(component: string, problem: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_INPUT', `component ${component}: ${problem}`);
}

async function listFiles(dir: string): Promise<string[] | undefined> {
  try {
    return (await readdir(dir)).filter((name) => !name.startsWith('.')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function stringProperty(value: string | string[] | undefined, key: string, file: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (Array.isArray(value)) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${file}: ${key} must be a single path, not an array`);
  return value;
}

/** Reads etc/dysnomia/process/<name>: Dysnomia's key=value file with process= and optionally pidFile=. */
async function readProcessConfig(component: string, file: string): Promise<ProgramSpec> {
  const properties = parseContainerFile(await readFile(file, 'utf8'), file);
  const program = stringProperty(properties.process, 'process', file);
  if (program === undefined) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `${file}: no process= line naming the program to start`);
  const pidFile = stringProperty(properties.pidFile, 'pidFile', file);
  return {
    program: path.resolve(component, program),
    ...(pidFile === undefined ? {} : { pidFile: path.resolve(component, pidFile) }),
    configFile: file,
  };
}

/**
 * Works out the program as Dysnomia's process module does: the `process`
 * named in the single file in etc/dysnomia/process/, otherwise the single
 * file in bin/.
 */
export async function findProgram(component: string): Promise<ProgramSpec> {
  const configDir = path.join(component, 'etc/dysnomia/process');
  const configs = await listFiles(configDir);
  let spec: ProgramSpec;
  if (configs !== undefined && configs.length > 0) {
    if (configs.length > 1) {
      throw componentError(component, `etc/dysnomia/process holds ${configs.length} files (${configs.join(', ')}); a process component describes one program`);
    }
    spec = await readProcessConfig(component, path.join(configDir, configs[0] as string));
  } else {
    const programs = await listFiles(path.join(component, 'bin'));
    if (programs === undefined || programs.length === 0) {
      throw componentError(component, 'nothing to start: a process component ships one program in bin/ or names it with process= in etc/dysnomia/process/<name>');
    }
    if (programs.length > 1) {
      throw componentError(component, `bin/ holds ${programs.length} files (${programs.join(', ')}); name the one to start with process= in etc/dysnomia/process/<name>`);
    }
    spec = { program: path.join(component, 'bin', programs[0] as string) };
  }
  await assertExecutable(component, spec);
  return spec;
}

async function assertExecutable(component: string, spec: ProgramSpec): Promise<void> {
  const where = spec.configFile ? ` (named in ${spec.configFile})` : '';
  try {
    if (!(await stat(spec.program)).isFile()) throw componentError(component, `${spec.program}${where} is not a file`);
    await access(spec.program, constants.X_OK);
  } catch (error) {
    if (error instanceof DysnomiaError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw componentError(component, `${spec.program}${where} ${code === 'ENOENT' ? 'does not exist' : 'is not executable (chmod +x)'}`);
  }
}
