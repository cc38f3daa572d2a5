#!/usr/bin/env node
import { prepareCliStart } from './cli-start.cjs';

prepareCliStart(process.argv);
const { runCli } = await import('./run-cli.js');
await runCli('dysnomia-containers', async (argv) => (await import('./containers-command.js')).containersCommand(argv));
