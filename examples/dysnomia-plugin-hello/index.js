// @ts-check
/**
 * dysnomia-plugin-hello: an example third-party Dysnomia type plugin.
 *
 * Type `hello`. A component is a folder holding `greeting.txt`; a container
 * is a folder, named by the container property `targetDir`. Activating the
 * component copies its greeting to `<targetDir>/<componentName>.txt`;
 * deactivating it removes that file.
 *
 * Plain ESM JavaScript, so it installs without a build. The types come from
 * @dysnomia/engine through JSDoc only: nothing is imported from the engine at
 * run time, so the plugin loads whichever engine (local or global) runs it.
 * The engine checks the exported object's shape and `engine` range itself.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** @typedef {import('@dysnomia/engine').DysnomiaPlugin} DysnomiaPlugin */
/** @typedef {import('@dysnomia/engine').OperationContext} OperationContext */

const COMPONENT_FILE = 'greeting.txt';

/**
 * The folder the container stands for: its `targetDir` property, made absolute.
 * @param {OperationContext} ctx
 * @returns {string}
 */
function targetDir(ctx) {
  const value = ctx.container.properties.targetDir;
  const where = ctx.container.file ?? ctx.container.name;
  if (value === undefined || value === '') {
    throw new Error(`container "${ctx.container.name}" (${where}) has no targetDir property; add a line targetDir=/some/folder to it`);
  }
  if (typeof value !== 'string') {
    throw new Error(`container "${ctx.container.name}" (${where}): targetDir must be a single path, not a list`);
  }
  return path.resolve(value);
}

/**
 * The file a component is deployed to.
 * @param {OperationContext} ctx
 */
function deployedFile(ctx) {
  return path.join(targetDir(ctx), `${ctx.componentName}.txt`);
}

/** @type {DysnomiaPlugin} */
const hello = {
  type: 'hello',
  engine: '^1.0.0',
  // The engine keeps activated/garbage markers in ctx.stateDir for us, and
  // skips an activate of a component it already marked as activated.
  stateful: true,
  meta: { name: 'dysnomia-plugin-hello', version: '1.0.0' },

  async activate(ctx) {
    const source = path.join(ctx.component, COMPONENT_FILE);
    let greeting;
    try {
      greeting = await readFile(source, 'utf8');
    } catch (error) {
      const code = /** @type {NodeJS.ErrnoException} */ (error).code;
      if (code === 'ENOENT') throw new Error(`component ${ctx.component} has no ${COMPONENT_FILE}`);
      throw error;
    }
    const target = deployedFile(ctx);
    await mkdir(path.dirname(target), { recursive: true });
    // Atomic: readers see the old file or the new one, never half of it.
    // The temporary name starts with a dot and does not end in .txt, so
    // capture never reports it.
    const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
    try {
      await writeFile(temporary, greeting);
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    ctx.log.info(`hello: deployed ${ctx.componentName} to ${target}`);
  },

  async deactivate(ctx) {
    const target = deployedFile(ctx);
    // force: no error when the file is already gone, so deactivate can be repeated.
    await rm(target, { force: true });
    ctx.log.info(`hello: removed ${target}`);
  },

  async capture(ctx) {
    const dir = targetDir(ctx);
    /** @type {string[]} */
    let names = [];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'ENOENT') throw error;
    }
    return { deployed: names.filter((name) => name.endsWith('.txt') && !name.startsWith('.')).sort() };
  },

  async collectGarbage(ctx) {
    // deactivate already removed the file: there is no leftover state to delete.
    ctx.log.info(`hello: nothing to collect for ${ctx.componentName} in ${ctx.container.name}`);
  },
};

export default hello;
