#!/usr/bin/env node
// A committed shim, so npm can link the command before the TypeScript is built.
// CommonJS (bin/package.json), as is everything an operation loads up to the engine's
// bundle: an ES module entry costs Node's ESM loader, a few milliseconds of each call.
require('./node-version-check.js');
require('../dist/cli/cli-start.cjs').startDysnomia();
