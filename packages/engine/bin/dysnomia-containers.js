#!/usr/bin/env node
// A committed shim, so npm can link the command before the TypeScript is built.
import "./node-version-check.js";

await import("../dist/cli/dysnomia-containers.js");
