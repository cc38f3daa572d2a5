#!/usr/bin/env node
// A committed shim, so npm can link the command before the TypeScript is built (CommonJS: bin/package.json).
require('./node-version-check.js');
import('../dist/cli/dysnomia-containers.js');
