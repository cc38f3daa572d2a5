import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import semver from 'semver';
import * as tar from 'tar';

/**
 * A package registry on 127.0.0.1 that the test starts itself, serving the
 * tarballs it is given (a packument per name, each version's tarball), so an
 * `npm install` can be tried as a new user would run it, with an empty cache
 * and no other registry.
 */
export interface LocalRegistry {
  url: string;
  /** Names npm asked for that the registry does not have. */
  misses: string[];
  close(): Promise<void>;
}

export interface RegistryPackage {
  manifest: Record<string, unknown> & { name: string; version: string };
  tarball: Buffer;
}

/** A tarball of an installed package's folder, as npm packs one (files under package/; its node_modules left out). */
export async function tarballOfFolder(dir: string): Promise<Buffer> {
  const names = (await readdir(dir)).filter((name) => name !== 'node_modules').sort();
  const chunks: Buffer[] = [];
  const stream = tar.create({ gzip: true, cwd: dir, prefix: 'package', portable: true }, names);
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function manifestOf(dir: string): Promise<RegistryPackage['manifest']> {
  return JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as RegistryPackage['manifest'];
}

/** The manifest fields an install needs; install scripts are not served (nothing here needs one). */
const SERVED = ['name', 'version', 'description', 'license', 'main', 'type', 'bin', 'engines', 'exports', 'dependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta', 'os', 'cpu'];

export async function startLocalRegistry(packages: RegistryPackage[]): Promise<LocalRegistry> {
  const byName = new Map<string, RegistryPackage[]>();
  for (const pkg of packages) byName.set(pkg.manifest.name, [...(byName.get(pkg.manifest.name) ?? []), pkg]);
  const tarballs = new Map<string, Buffer>();
  const misses: string[] = [];
  const server = http.createServer((request, response) => {
    const url = decodeURIComponent((request.url ?? '/').split('?')[0]!);
    const tarball = /^\/-\/(.+\.tgz)$/.exec(url);
    if (tarball && tarballs.has(tarball[1]!)) {
      response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tarballs.get(tarball[1]!));
      return;
    }
    const name = url.slice(1);
    const versions = byName.get(name);
    if (versions === undefined) {
      misses.push(name);
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(packuments.get(name)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const packuments = new Map<string, unknown>();
  for (const [name, versions] of byName) {
    const served: Record<string, unknown> = {};
    for (const { manifest, tarball } of versions) {
      const file = `${name.replace('/', '-')}-${manifest.version}.tgz`;
      tarballs.set(file, tarball);
      const kept = Object.fromEntries(SERVED.filter((key) => manifest[key] !== undefined).map((key) => [key, manifest[key]]));
      served[manifest.version] = {
        ...kept,
        dist: {
          tarball: `${url}-/${file}`,
          shasum: createHash('sha1').update(tarball).digest('hex'),
          integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
        },
      };
    }
    const latest = versions.map((v) => v.manifest.version).sort(semver.compare).at(-1)!;
    packuments.set(name, { name, 'dist-tags': { latest }, versions: served });
  }
  return { url, misses, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
