import { Engine } from '../engine.js';
import { DysnomiaError } from '../errors.js';
import { isOperation } from '../plugin.js';
import { parseOptions } from './run-cli.js';
import { printVersion } from './version-text.js';

export async function operationCommand(argv: string[], operationWord: string | undefined, help: string): Promise<number> {
  const { values, positionals } = parseOptions(
    argv,
    {
      operation: { type: 'string', short: 'o' },
      component: { type: 'string', short: 'c' },
      container: { type: 'string', short: 'C' },
      type: { type: 'string', short: 't' },
      environment: { type: 'boolean', short: 'E' },
      shell: { type: 'boolean' },
      command: { type: 'string' },
      config: { type: 'string' },
      debug: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
    true,
  );
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  if (values.version) return printVersion('dysnomia');
  if (positionals.length > 0) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `unexpected argument "${positionals[0]}"`);
  if (values.command !== undefined && !values.shell) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', '--command goes with --shell');
  const operation = values.operation ?? operationWord;
  if (values.operation && operationWord && values.operation !== operationWord) {
    throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `two operations given: "${operationWord}" and --operation ${values.operation}`);
  }
  if (!values.shell && operation === undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'no operation given: pass --operation OPERATION (or --shell)');
  if (values.shell && operation !== undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', '--shell takes no operation');
  if (operation !== undefined && !isOperation(operation)) {
    throw new DysnomiaError(
      'ERR_DYSNOMIA_USAGE',
      `--operation ${operation}: unknown operation (one of activate, deactivate, lock, unlock, snapshot, restore, collect-garbage, capture)`,
    );
  }
  if (values.component === undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', 'no component given: pass --component PATH');

  const engine = await Engine.create({ ...(values.config ? { configFile: values.config } : {}), logLevel: values.debug ? 'debug' : 'info' });
  const request = {
    component: values.component,
    ...(values.container === undefined ? {} : { container: values.container }),
    ...(values.type === undefined ? {} : { type: values.type }),
    useEnvironment: values.environment ?? false,
  };
  if (values.shell) return engine.shell(request, values.command);
  const outcome = await engine.run({ ...request, operation: operation as Parameters<Engine['run']>[0]['operation'] });
  if (outcome.skipped) engine.log.info(`${operation} ${outcome.context.componentName} in ${outcome.context.container.name}: ${outcome.skipped}`);
  if (outcome.result !== undefined) process.stdout.write(`${typeof outcome.result === 'string' ? outcome.result : JSON.stringify(outcome.result, null, 2)}\n`);
  return 0;
}
