#!/usr/bin/env node
import { prepareCliStart } from './cli-start.js';

// The engine is imported after prepareCliStart (source maps for --debug; a stale bundle made again).
await prepareCliStart(process.argv);
await (await import('./dysnomia-main.js')).runDysnomia();
