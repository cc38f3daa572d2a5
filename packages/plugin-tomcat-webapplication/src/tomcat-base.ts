import { stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { DysnomiaError } from '@dysnomia/engine';
import type { OperationContext } from '@dysnomia/engine';

/** The folders of a Tomcat base (CATALINA_BASE) this plugin deploys into. */
export interface TomcatBase {
  dir: string;
  /** The Host's appBase: Tomcat deploys the WARs it finds here. */
  webapps: string;
  /** Context descriptors of the localhost Host. */
  contexts: string;
}

export function tomcatBaseAt(dir: string): TomcatBase {
  return { dir, webapps: join(dir, 'webapps'), contexts: join(dir, 'conf', 'Catalina', 'localhost') };
}

/** A container that cannot work as written: bad input, exit status 2. */
function badContainer(message: string): DysnomiaError {
  return new DysnomiaError('ERR_DYSNOMIA_INPUT', message);
}

/** The container's `catalinaBaseDir`, checked: one absolute path. */
export function catalinaBaseDir(ctx: OperationContext): string {
  const value = ctx.container.properties.catalinaBaseDir;
  const where = `container "${ctx.container.name}"`;
  if (value === undefined || value === '') {
    throw badContainer(`${where} has no catalinaBaseDir property: it must name the Tomcat base (CATALINA_BASE) to deploy into`);
  }
  if (Array.isArray(value)) throw badContainer(`${where}: catalinaBaseDir must be one path, not an array`);
  if (!isAbsolute(value)) throw badContainer(`${where}: catalinaBaseDir must be an absolute path, got "${value}"`);
  return value;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/**
 * The container's Tomcat base, or undefined when it (or its webapps folder)
 * does not exist: then no Tomcat serves this container here.
 */
export async function findTomcatBase(ctx: OperationContext): Promise<TomcatBase | undefined> {
  const base = tomcatBaseAt(catalinaBaseDir(ctx));
  return (await isDirectory(base.dir)) && (await isDirectory(base.webapps)) ? base : undefined;
}

export async function requireTomcatBase(ctx: OperationContext): Promise<TomcatBase> {
  const base = await findTomcatBase(ctx);
  if (base) return base;
  const dir = catalinaBaseDir(ctx);
  const missing = (await isDirectory(dir)) ? `${join(dir, 'webapps')} does not exist` : 'it does not exist';
  throw new Error(
    `container "${ctx.container.name}": the Tomcat base catalinaBaseDir=${dir} is not there (${missing}); ` +
      'activate the Tomcat server that provides this container first',
  );
}
