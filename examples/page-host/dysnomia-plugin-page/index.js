// @ts-check
/**
 * dysnomia-plugin-page: the container type of the page-host example's third layer.
 *
 * Type `page`. A container of this type is a page host (a web application that
 * serves whatever pages are in its folder): its property `pagesDir` is that
 * folder. A component is a folder of `*.html` pages; activating it copies them
 * into pagesDir (each written whole: a temporary file, then a rename), and
 * deactivating it removes them. A component holding a file `refuse` fails to
 * activate, which the example's tests use to show a rollback across layers.
 *
 * Plain ESM, nothing imported from the engine: the plugin loads with whichever
 * engine runs it, on this machine or on a target.
 */
import { mkdir, readdir, rename, rm, copyFile, access } from 'node:fs/promises';
import path from 'node:path';

/** @typedef {import('@dysnomia/engine').OperationContext} OperationContext */

const PAGE = /^[A-Za-z0-9_-]+\.html$/;

/** @param {OperationContext} ctx */
function pagesDir(ctx) {
  const value = ctx.container.properties.pagesDir;
  if (typeof value !== 'string' || value === '') {
    throw new Error(`container "${ctx.container.name}" has no pagesDir property: the page host that provides it names the folder it serves`);
  }
  return path.resolve(value);
}

/** @param {OperationContext} ctx */
async function pagesOf(ctx) {
  return (await readdir(ctx.component)).filter((name) => PAGE.test(name)).sort();
}

export default {
  type: 'page',
  engine: '^1.0.0',
  stateful: false,
  /** @param {OperationContext} ctx */
  async activate(ctx) {
    if (await access(path.join(ctx.component, 'refuse')).then(() => true, () => false)) {
      throw new Error(`${ctx.componentName} refuses to be served (it holds a file "refuse")`);
    }
    const dir = pagesDir(ctx);
    await mkdir(dir, { recursive: true });
    for (const page of await pagesOf(ctx)) {
      const temporary = path.join(dir, `.${page}.${process.pid}.tmp`);
      await copyFile(path.join(ctx.component, page), temporary);
      await rename(temporary, path.join(dir, page));
      ctx.log.info(`${page} now served by the host of container "${ctx.container.name}"`);
    }
  },
  /** @param {OperationContext} ctx */
  async deactivate(ctx) {
    const dir = pagesDir(ctx);
    for (const page of await pagesOf(ctx)) await rm(path.join(dir, page), { force: true });
  },
};
