#!/usr/bin/env node
import { prepareCliStart } from './cli-start.cjs';

prepareCliStart(process.argv);
const { runCli } = await import('./run-cli.js');
await runCli('dysnomia-snapshots', async (argv) => (await import('./snapshots-command.js')).snapshotsCommand(argv));
