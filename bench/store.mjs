// Store and profile benchmark (issue 4, local side). Prints:
//  1. adding 50 small packages and one of 200 MB (copy + hash + read-only), against `cp -a` of the same folders;
//  2. an archive of all of them exported and imported into another state folder (verify included),
//     against `tar -c | tar -x` of the same folders;
//  3. the no-op checks a redeploy makes: `dysnomia store --query-missing` of all 51 entries and an identical
//     `dysnomia profile --install`, through the CLI (target: well under 1 s).
// Run: npx tsc -b packages/engine && node bench/store.mjs   (needs ~1 GB free in the temp folder)
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Profiles, Store } from '../packages/engine/dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'packages/engine/bin/dysnomia.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'dysnomia-bench-store-'));
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 200);

const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;
const fmt = (s) => `${s.toFixed(2)} s`;

try {
  const sources = path.join(work, 'sources');
  const folders = [];
  for (let i = 0; i < 50; i++) {
    const dir = path.join(sources, `small-${i}`);
    mkdirSync(path.join(dir, 'bin'), { recursive: true });
    mkdirSync(path.join(dir, 'share/doc', `small-${i}`), { recursive: true });
    writeFileSync(path.join(dir, 'bin', `small-${i}`), `#!/bin/sh\necho small ${i}\n`, { mode: 0o755 });
    for (let f = 0; f < 20; f++) writeFileSync(path.join(dir, 'share/doc', `small-${i}`, `page-${f}.txt`), `package ${i} page ${f}\n`.repeat(200));
    folders.push(dir);
  }
  const big = path.join(sources, 'big');
  mkdirSync(path.join(big, 'bin'), { recursive: true });
  writeFileSync(path.join(big, 'bin/big'), '#!/bin/sh\necho big\n', { mode: 0o755 });
  execFileSync('sh', ['-c', `head -c ${BIG_MB}M /dev/urandom > '${path.join(big, 'blob')}'`]);
  folders.push(big);

  let start = process.hrtime.bigint();
  execFileSync('cp', ['-a', sources, path.join(work, 'cp-copy')]);
  const cpTime = seconds(start);
  const store = Store.at(path.join(work, 'state'));
  start = process.hrtime.bigint();
  const entries = [];
  for (const folder of folders) entries.push(await store.add(folder));
  const addTime = seconds(start);

  start = process.hrtime.bigint();
  execFileSync('sh', ['-c', `tar -cf - -C '${sources}' . | (mkdir -p '${work}/tar-copy' && tar -xf - -C '${work}/tar-copy')`]);
  const tarTime = seconds(start);
  const archive = path.join(work, 'archive');
  start = process.hrtime.bigint();
  await store.exportArchive(entries, createWriteStream(archive));
  const target = Store.at(path.join(work, 'target'));
  await target.importArchive(createReadStream(archive));
  const transferTime = seconds(start);

  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DYSNOMIA_STATEDIR: path.join(work, 'target') };
  await Profiles.at(path.join(work, 'target')).install('default', entries);
  const timeCli = (args) => {
    const s = process.hrtime.bigint();
    execFileSync(process.execPath, [cli, ...args], { env, stdio: 'ignore' });
    return seconds(s);
  };
  const missingTime = timeCli(['store', '--query-missing', ...entries]);
  const installTime = timeCli(['profile', '--install', ...entries]);

  console.log(`50 small packages + one of ${BIG_MB} MB`);
  console.log(`  store add (copy, hash, read-only):   ${fmt(addTime)}   cp -a: ${fmt(cpTime)}   ratio ${(addTime / cpTime).toFixed(1)}x`);
  console.log(`  export + import (hash verified):     ${fmt(transferTime)}   tar | tar: ${fmt(tarTime)}   ratio ${(transferTime / tarTime).toFixed(1)}x`);
  console.log(`  no-op: store --query-missing (51):   ${fmt(missingTime)}`);
  console.log(`  no-op: identical profile --install:  ${fmt(installTime)}`);
} finally {
  execFileSync('chmod', ['-R', 'u+w', work]);
  rmSync(work, { recursive: true, force: true });
}
