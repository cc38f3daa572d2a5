// The same packages as services of type "package" (disnix-env -s -i -d):
// they are only installed into the profile, nothing is activated. A pkg may
// be a function of its dependencies: `motd` bakes in the address of the
// machine `hello` is distributed to.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { component, shellQuote } from '@dysnomia/engine';

export default ({ distribution, invDistribution, system }) => {
  const services = {
    hello: { name: 'hello', pkg: './pkgs/hello', type: 'package' },
    motd: {
      name: 'motd',
      type: 'package',
      pkg: ({ hello }) =>
        component({
          name: 'motd',
          inputs: { text: `Deployed by Dysnomia; hello lives on ${hello.target.properties.hostname}` },
          async build(out, { text }) {
            await mkdir(`${out}/bin`, { recursive: true });
            await writeFile(`${out}/bin/motd`, `#!/bin/sh\necho ${shellQuote(text)}\n`);
            await chmod(`${out}/bin/motd`, 0o755);
          },
        }),
    },
  };
  services.motd.connectsTo = { hello: services.hello };
  return services;
};
