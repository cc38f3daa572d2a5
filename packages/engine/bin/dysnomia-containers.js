#!/usr/bin/env node
// A committed shim, so npm can link the command before the TypeScript is built.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write('dysnomia-containers: Node.js 20.19 or later is needed; this is Node.js ' + process.version + '\n');
  process.exit(2);
}
await import('../dist/cli/dysnomia-containers.js');
