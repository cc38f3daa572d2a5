import type { TemplateFile } from './template-files.js';

/** The models `dysnomia init` writes, as they are passed to `dysnomia deploy`. */
export const PROJECT_MODELS = { services: 'services.mjs', infrastructure: 'infrastructure.mjs', distribution: 'distribution.mjs' } as const;

/** Where the deployed services write what they make, inside the project folder. */
export const PROJECT_OUTPUT_DIR = 'output';

const CONFIG = `// Dysnomia's settings for this project (found from this folder and below it).
// stateDir: where this machine, as the coordinator, keeps its store and the
// recorded deployments (generations, for --rollback and --undeploy). Inside the
// project, so trying it out writes nothing elsewhere; delete the folder to start over.
export default {
  stateDir: '.dysnomia/coordinator',
};
`;

const INFRASTRUCTURE = `// The infrastructure model (-i): the machines to deploy to, by name.
//
// One target: this machine, deployed to in process (clientInterface 'local':
// no SSH), with its own state folder inside this project. To deploy to another
// machine over SSH, add a target such as
//   server1: { properties: { hostname: 'server1.example.org', sshUser: 'deploy' } },
// (it needs sshd and Node.js; its host key must be in ~/.ssh/known_hosts).
import { fileURLToPath } from 'node:url';

const here = (relative) => fileURLToPath(new URL(relative, import.meta.url));

export default {
  localhost: {
    clientInterface: 'local',
    properties: {
      hostname: 'localhost',
      // This target's store, profiles and activation markers.
      stateDir: here('.dysnomia/localhost'),
    },
    // Containers: what services are deployed into, with their properties. A
    // service of type 'wrapper' gets its container's properties as environment
    // variables (here: outputDir).
    containers: {
      wrapper: { outputDir: here('${PROJECT_OUTPUT_DIR}') },
    },
  },
};
`;

const SERVICES = `// The services model (-s): what to deploy, as Disnix's.
//
// Each service: a name, a package (pkg: a folder here, a tarball, 'npm:<spec>',
// or a component built by a function) and a type (the plugin that activates
// it: 'wrapper' runs the package's bin/wrapper). dependsOn: services that must
// be activated first (and deactivated last).
export default () => {
  const greeting = { name: 'greeting', pkg: './services/greeting', type: 'wrapper' };
  return {
    greeting,
    card: { name: 'card', pkg: './services/card', type: 'wrapper', dependsOn: { greeting } },
  };
};
`;

const DISTRIBUTION = `// The distribution model (-d): which target(s) each service goes to.
// A list of targets per service; the verbose form picks a container:
//   card: { targets: [{ target: infrastructure.localhost, container: 'wrapper' }] },
// (a service goes into the container named after its type by default).
export default ({ infrastructure }) => ({
  greeting: [infrastructure.localhost],
  card: [infrastructure.localhost],
});
`;

const GREETING_WRAPPER = `#!/bin/sh
# A 'wrapper' service: the engine runs bin/wrapper OPERATION CONTAINER, with
# the container's properties (outputDir) in the environment. activate and
# deactivate must be safe to repeat; other operations do nothing here.
set -e
case "$1" in
  activate)
    mkdir -p "$outputDir"
    echo "Hello from the greeting service" > "$outputDir/greeting.txt"
    ;;
  deactivate)
    rm -f "$outputDir/greeting.txt"
    ;;
esac
`;

const CARD_WRAPPER = `#!/bin/sh
# Depends on greeting (see services.mjs), so it is activated after it: it
# reads the greeting's file and writes a card around it.
set -e
case "$1" in
  activate)
    { echo "A card that says:"; cat "$outputDir/greeting.txt"; } > "$outputDir/card.txt"
    ;;
  deactivate)
    rm -f "$outputDir/card.txt"
    ;;
esac
`;

/** A small commented deployment of two wrapper services, one depending on the other, to this machine. */
export function projectTemplate(): TemplateFile[] {
  return [
    { path: 'dysnomia.config.mjs', text: CONFIG },
    { path: PROJECT_MODELS.infrastructure, text: INFRASTRUCTURE },
    { path: PROJECT_MODELS.services, text: SERVICES },
    { path: PROJECT_MODELS.distribution, text: DISTRIBUTION },
    { path: 'services/greeting/bin/wrapper', text: GREETING_WRAPPER, mode: 0o755 },
    { path: 'services/card/bin/wrapper', text: CARD_WRAPPER, mode: 0o755 },
  ];
}
