import type { DysnomiaPlugin, OperationContext } from '@dysnomia/engine';
import { withSession } from './client.js';
import { containerLabel } from './connection.js';
import { createDatabaseWithSchema, databaseExists, dropDatabase, schemaFiles, userDatabases } from './databases.js';
import { restoreDatabase, snapshotDatabase } from './dump.js';
import { databaseNameProblem, quoteIdentifier } from './identifiers.js';
import { InputProblem, reportingInputProblems } from './input-error.js';

export { formatOptionFile } from './option-file.js';
export { connectionSettings, describeTarget } from './connection.js';
export type { ConnectionSettings } from './connection.js';
export { quoteIdentifier } from './identifiers.js';

/** The database a component owns: named after the component. */
function databaseName(ctx: OperationContext): string {
  const name = ctx.componentName;
  const problem = databaseNameProblem(name);
  if (problem) throw new InputProblem(`component ${JSON.stringify(name)} cannot name a database in ${containerLabel(ctx)}: ${problem}`);
  return name;
}

/**
 * Type `mysql-database`: a component is a database named after it, made from
 * its mysql-databases/*.sql. Stateful: the engine keeps the activated and
 * garbage markers, so deactivate only marks the database as garbage and
 * collect-garbage drops it (Dysnomia's semantics: data is never lost by a
 * deactivate alone).
 *
 * A plain object (`satisfies`) rather than definePlugin(): the engine
 * validates it on load anyway.
 */
const plugin = {
  type: 'mysql-database',
  engine: '^1.0.0',
  stateful: true,
  meta: { name: '@dysnomia/plugin-mysql-database', version: '1.0.0' },

  activate: (ctx: OperationContext) =>
    reportingInputProblems(async () => {
      const name = databaseName(ctx);
      const files = await schemaFiles(ctx.component);
      await withSession(ctx, async (session) => {
        if (await databaseExists(session, name)) {
          ctx.log.info(`database ${quoteIdentifier(name)} already exists in ${session.label}; left as it is`);
          return;
        }
        await createDatabaseWithSchema(session, name, files);
        ctx.log.info(`created database ${quoteIdentifier(name)} in ${session.label} from ${files.length} SQL file(s)`);
      });
    }),

  deactivate: (ctx: OperationContext) =>
    reportingInputProblems(() => {
      // The data stays until collect-garbage; the engine records the garbage marker.
      ctx.log.info(`database ${quoteIdentifier(databaseName(ctx))} in ${containerLabel(ctx)} is marked as garbage; collect-garbage drops it`);
    }),

  collectGarbage: (ctx: OperationContext) =>
    reportingInputProblems(async () => {
      const name = databaseName(ctx);
      await withSession(ctx, (session) => dropDatabase(session, name));
      ctx.log.info(`dropped database ${quoteIdentifier(name)} from ${containerLabel(ctx)}`);
    }),

  snapshot: (ctx: OperationContext) =>
    reportingInputProblems(async () => {
      const name = databaseName(ctx);
      const stored = await withSession(ctx, (session) => snapshotDatabase(session, name));
      ctx.log.info(
        stored.createdGeneration
          ? `snapshot ${stored.relativePath} stored as generation ${stored.generation}`
          : `snapshot ${stored.relativePath} unchanged (generation ${stored.generation})`,
      );
    }),

  restore: (ctx: OperationContext) =>
    reportingInputProblems(async () => {
      const name = databaseName(ctx);
      const restored = await withSession(ctx, (session) => restoreDatabase(session, name));
      if (restored === undefined) ctx.log.info(`no snapshot of ${ctx.componentName} in ${containerLabel(ctx)}; nothing restored`);
      else ctx.log.info(`restored database ${quoteIdentifier(name)} from snapshot ${restored}`);
    }),

  capture: (ctx: OperationContext) =>
    reportingInputProblems(async () => {
      const name = databaseName(ctx);
      const databases = await withSession(ctx, (session) => userDatabases(session));
      return { container: ctx.container.name, database: name, exists: databases.includes(name), databases };
    }),
} satisfies DysnomiaPlugin;

export default plugin;
