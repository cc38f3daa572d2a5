#!/usr/bin/env node
// A committed shim, so npm can link the command before the TypeScript is built.
import "../dist/cli/dysnomia-containers.js";
