// Imported first by each command: a clear message instead of a syntax error on an old Node.js.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`${process.argv[1]?.split('/').pop() ?? 'dysnomia'}: Node.js 20.19 or later is needed; this is Node.js ${process.version}\n`);
  process.exit(2);
}
