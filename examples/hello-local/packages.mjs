// What the machine gets, as Disnix's packages model (-P): a folder and a
// package built by a function (the same inputs give the same store entry).
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { component, shellQuote } from '@dysnomia/engine';

export const motd = (text) =>
  component({
    name: 'motd',
    inputs: { text },
    async build(out, inputs) {
      await mkdir(`${out}/bin`, { recursive: true });
      await writeFile(`${out}/bin/motd`, `#!/bin/sh\necho ${shellQuote(inputs.text)}\n`);
      await chmod(`${out}/bin/motd`, 0o755);
    },
  });

export default () => ({
  localhost: ['./pkgs/hello', motd(process.env.MOTD ?? 'Deployed by Dysnomia')],
});
