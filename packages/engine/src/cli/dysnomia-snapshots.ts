#!/usr/bin/env node
import { runCli } from './run-cli.js';

await runCli('dysnomia-snapshots', async (argv) => (await import('./snapshots-command.js')).snapshotsCommand(argv));
