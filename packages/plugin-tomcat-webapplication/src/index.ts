import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DysnomiaError } from '@dysnomia/engine';
import type { DysnomiaPlugin, OperationContext } from '@dysnomia/engine';
import { installAtomically, sameContent } from './atomic-files.js';
import { CONTEXTS_DIR, WEBAPPS_DIR, expandedDirName, listFiles, readComponentFiles } from './component-files.js';
import type { ComponentFiles } from './component-files.js';
import { findTomcatBase, requireTomcatBase } from './tomcat-base.js';
import type { TomcatBase } from './tomcat-base.js';

export { isDeployableName, readComponentFiles } from './component-files.js';
export type { ComponentFiles } from './component-files.js';

/** One file of the component, as found in the Tomcat base. */
export type DeploymentState = 'deployed' | 'missing' | 'different';

export interface CaptureResult {
  container: string;
  catalinaBaseDir: string;
  /** Every WAR in the base's webapps folder, whoever put it there. */
  webapps: string[];
  /** Every context descriptor in the base's conf/Catalina/localhost. */
  contexts: string[];
  /** This component's files and whether the base holds them as they are. */
  component: { name: string; webapps: Record<string, DeploymentState>; contexts: Record<string, DeploymentState> };
}

async function componentFiles(ctx: OperationContext): Promise<ComponentFiles> {
  const files = await readComponentFiles(ctx.component);
  if (files.webapps.length === 0 && files.contexts.length === 0) {
    throw new DysnomiaError('ERR_DYSNOMIA_INPUT', `component ${ctx.componentName} (${ctx.component}) has nothing to deploy: no ${WEBAPPS_DIR}/*.war and no ${CONTEXTS_DIR}/* files`);
  }
  return files;
}

async function activate(ctx: OperationContext): Promise<void> {
  const files = await componentFiles(ctx);
  const base = await requireTomcatBase(ctx);
  // Context descriptors first: Tomcat must see a WAR's descriptor when it deploys the WAR.
  for (const name of files.contexts) {
    if (await installAtomically(join(ctx.component, CONTEXTS_DIR, name), base.contexts, name)) {
      ctx.log.info(`installed context ${name} into ${base.contexts}`);
    }
  }
  for (const name of files.webapps) {
    if (await installAtomically(join(ctx.component, WEBAPPS_DIR, name), base.webapps, name)) {
      ctx.log.info(`deployed ${name} into ${base.webapps}`);
    }
  }
}

/**
 * Removes `dir/name` when it holds the component's bytes. A different file of
 * the same name belongs to another version of the component (activated over
 * this one during an upgrade) and stays.
 */
async function removeIfOurs(ctx: OperationContext, source: string, dir: string, name: string): Promise<boolean> {
  const target = join(dir, name);
  if (await sameContent(source, target)) {
    await rm(target, { force: true });
    return true;
  }
  if (await stat(target).catch(() => undefined)) {
    ctx.log.warn(`left ${target} in place: its content is not ${ctx.componentName}'s (another version was deployed over it)`);
  }
  return false;
}

/**
 * The folder Tomcat expanded a WAR into, when Tomcat made it (it leaves
 * META-INF/war-tracker there). A running Tomcat removes it itself; a stopped
 * one would serve it again on its next start if it stayed.
 */
async function removeExpandedWar(base: TomcatBase, war: string): Promise<void> {
  const expanded = join(base.webapps, expandedDirName(war));
  if (await stat(join(expanded, 'META-INF', 'war-tracker')).catch(() => undefined)) {
    await rm(expanded, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function deactivate(ctx: OperationContext): Promise<void> {
  const files = await componentFiles(ctx);
  const base = await findTomcatBase(ctx);
  if (!base) {
    ctx.log.warn(`container "${ctx.container.name}": the Tomcat base is gone, so ${ctx.componentName} is not deployed there`);
    return;
  }
  for (const name of files.contexts) {
    if (await removeIfOurs(ctx, join(ctx.component, CONTEXTS_DIR, name), base.contexts, name)) {
      ctx.log.info(`removed context ${name} from ${base.contexts}`);
    }
  }
  for (const name of files.webapps) {
    if (await removeIfOurs(ctx, join(ctx.component, WEBAPPS_DIR, name), base.webapps, name)) {
      await removeExpandedWar(base, name);
      ctx.log.info(`undeployed ${name} from ${base.webapps}`);
    }
  }
}

async function statesOf(names: string[], sourceDir: string, targetDir: string): Promise<Record<string, DeploymentState>> {
  const states: Record<string, DeploymentState> = {};
  for (const name of names) {
    const target = join(targetDir, name);
    if (await sameContent(join(sourceDir, name), target)) states[name] = 'deployed';
    else states[name] = (await stat(target).catch(() => undefined)) ? 'different' : 'missing';
  }
  return states;
}

async function capture(ctx: OperationContext): Promise<CaptureResult> {
  const base = await requireTomcatBase(ctx);
  const files = await readComponentFiles(ctx.component);
  return {
    container: ctx.container.name,
    catalinaBaseDir: base.dir,
    webapps: await listFiles(base.webapps, (name) => name.endsWith('.war')),
    contexts: await listFiles(base.contexts, () => true),
    component: {
      name: ctx.componentName,
      webapps: await statesOf(files.webapps, join(ctx.component, WEBAPPS_DIR), base.webapps),
      contexts: await statesOf(files.contexts, join(ctx.component, CONTEXTS_DIR), base.contexts),
    },
  };
}

/**
 * Type `tomcat-webapplication`: deploys a component's webapps/*.war (and its
 * conf/Catalina/* context descriptors) into the Tomcat base named by the
 * container's catalinaBaseDir, where Tomcat's auto-deployer picks them up, as
 * Dysnomia's module of the same name does (but copying atomically instead of
 * linking, so Tomcat never sees half a file or a link into a store that is
 * later collected).
 *
 * Not stateful: the deployed files are the whole state and deactivate removes
 * them; there is nothing for collect-garbage to keep or drop. Activate also
 * runs every time, so a Tomcat base that was recreated gets its WARs back.
 *
 * A plain object (`satisfies`) instead of definePlugin: the engine validates
 * plugins when it loads them anyway.
 */
const plugin = {
  type: 'tomcat-webapplication',
  engine: '^1.0.0',
  stateful: false,
  meta: { name: '@dysnomia/plugin-tomcat-webapplication', version: '1.0.0' },
  activate,
  deactivate,
  capture,
} satisfies DysnomiaPlugin;

export default plugin;
