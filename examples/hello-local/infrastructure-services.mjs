// Two "machines" for the services deployment (-s -i -d): both this one,
// deployed in process (no SSH), each with its own state folder under out/.
// Their containers say where the services put their files.
import { fileURLToPath } from 'node:url';

const machine = (name) => {
  const dir = fileURLToPath(new URL(`out/${name}`, import.meta.url));
  return {
    clientInterface: 'local',
    properties: { hostname: 'localhost', stateDir: `${dir}/state` },
    containers: { wrapper: { shelfDir: dir }, process: { clockFile: `${dir}/clock.txt` } },
  };
};

export default { machine1: machine('machine1'), machine2: machine('machine2') };
