// One machine: this one, deployed in process (no SSH). Its state folder is
// out/machine, so the example installs nothing outside this folder.
import { fileURLToPath } from 'node:url';

export default {
  localhost: {
    clientInterface: 'local',
    properties: { hostname: 'localhost', stateDir: fileURLToPath(new URL('out/machine', import.meta.url)) },
  },
};
