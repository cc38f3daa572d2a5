#!/usr/bin/env node
import { runCli } from './run-cli.js';

await runCli('dysnomia-containers', async (argv) => (await import('./containers-command.js')).containersCommand(argv));
