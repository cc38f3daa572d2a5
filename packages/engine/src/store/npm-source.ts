import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { DysnomiaError, EXIT_OPERATION_FAILED } from '../errors.js';
import { sanitizeName } from './entry-name.js';

/** File names of tarball sources (npm packs, tar archives). */
export const TARBALL = /\.(tgz|tar\.gz|tar)$/;
const EXACT_REGISTRY_SPEC = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*@\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/**
 * What an `npm:` spec is cached under, when the spec pins its contents: a
 * local tarball by the hash of its bytes, `name@1.2.3` by itself. Ranges,
 * tags and folders are resolved anew every time.
 */
export async function npmCacheKey(spec: string, cwd: string): Promise<string | undefined> {
  if (TARBALL.test(spec)) return `tarball:${await fileSha256(path.resolve(cwd, spec))}`;
  if (EXACT_REGISTRY_SPEC.test(spec)) return `registry:${spec}`;
  return undefined;
}

/**
 * `npm pack SPEC` (unless SPEC already is a tarball), then a global-style
 * install of that tarball with its production dependencies into `out`:
 * out/lib/node_modules/<package>, and out/bin/<command> links for its bin
 * entries, as `npm install -g --prefix` lays them out. Returns the entry name
 * (`<package>-<version>`, a scope becomes a prefix).
 */
export async function installNpmPackage(spec: string, out: string, work: string, options: { cwd: string; log: (message: string) => void; offline?: boolean }): Promise<string> {
  let tarball: string;
  if (TARBALL.test(spec)) {
    tarball = path.resolve(options.cwd, spec);
  } else {
    options.log(`npm pack ${spec}`);
    await mkdir(work, { recursive: true });
    const packed = await runNpm(['pack', spec, '--pack-destination', work, '--json'], options.cwd);
    const filename = (JSON.parse(packed) as Array<{ filename: string }>)[0]?.filename;
    if (filename === undefined) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `npm pack ${spec} made no tarball`, { exitCode: EXIT_OPERATION_FAILED });
    tarball = path.join(work, path.basename(filename));
  }
  options.log(`npm install ${path.basename(tarball)} with its production dependencies`);
  await runNpm(['install', '--global', '--prefix', out, '--omit=dev', '--no-audit', '--no-fund', options.offline ? '--offline' : '--prefer-offline', '--no-update-notifier', tarball], options.cwd);
  // npm's hidden lockfile is a cache of its own that names the temporary paths; it is not part of the package.
  await rm(path.join(out, 'lib/node_modules/.package-lock.json'), { force: true });
  const manifest = await installedPackage(out, spec);
  return sanitizeName(`${manifest.name.replace(/^@/, '').replace('/', '-')}-${manifest.version}`);
}

async function installedPackage(out: string, spec: string): Promise<{ name: string; version: string }> {
  const modules = path.join(out, 'lib/node_modules');
  const names: string[] = [];
  for (const name of await readdir(modules).catch(() => [] as string[])) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) for (const inner of await readdir(path.join(modules, name))) names.push(`${name}/${inner}`);
    else names.push(name);
  }
  if (names.length !== 1) throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `npm:${spec}: expected one installed package, found ${names.length}`, { exitCode: EXIT_OPERATION_FAILED });
  const manifest = JSON.parse(await readFile(path.join(modules, names[0]!, 'package.json'), 'utf8')) as { name?: string; version?: string };
  return { name: manifest.name ?? names[0]!, version: manifest.version ?? '0.0.0' };
}

/** Runs npm quietly; a failure carries npm's last lines, prefixed with what was being done (`what`). */
export function runNpm(args: string[], cwd: string, what = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'npm',
      args,
      { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false', npm_config_loglevel: 'error' } },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const detail = (stderr || stdout || error.message).trim().split('\n').slice(-8).join('\n');
        reject(new DysnomiaError('ERR_DYSNOMIA_INPUT', `${what}npm ${args[0]} failed:\n${detail}`, { exitCode: EXIT_OPERATION_FAILED, cause: error }));
      },
    );
  });
}

function fileSha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'ENOENT' ? new DysnomiaError('ERR_DYSNOMIA_INPUT', `npm:${file}: no such tarball`) : error),
      )
      .on('end', () => resolve(hash.digest('hex')));
  });
}
