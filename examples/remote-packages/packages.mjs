// Which packages each machine gets, as Disnix's packages model (-P) says it:
// a folder, a tarball, an npm package, or a component built by a function.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { component, shellQuote } from '@dysnomia/engine';

/** A package built by a function: the same inputs give the same store entry, built once. */
const motd = component({
  name: 'motd',
  inputs: { text: 'Deployed by Dysnomia' },
  async build(out, { text }) {
    await mkdir(`${out}/bin`, { recursive: true });
    await writeFile(`${out}/bin/motd`, `#!/bin/sh\necho ${shellQuote(text)}\n`);
    await chmod(`${out}/bin/motd`, 0o755);
  },
});

export default ({ infrastructure }) => ({
  test1: ['./pkgs/hello', 'npm:cowsay@1.6.0', motd],
  test2: ['./pkgs/hello', motd],
});
