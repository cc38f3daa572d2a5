import type { OperationContext } from '@dysnomia/engine';
import { InputProblem } from './input-error.js';

/** How to reach the server and log in, from the container's mysql* properties. */
export interface ConnectionSettings {
  user?: string;
  password?: string;
  /** Unix socket; used when no host is given. */
  socket?: string;
  /** TCP host; with it the connection goes over TCP even to localhost. */
  host?: string;
  port?: number;
}

/** `container "NAME" (FILE)`: how errors name the container. */
export function containerLabel(ctx: OperationContext): string {
  const { name, file, fromEnvironment } = ctx.container;
  if (fromEnvironment) return `container "${name}" (from the environment)`;
  return file ? `container "${name}" (${file})` : `container "${name}"`;
}

function stringProperty(ctx: OperationContext, key: string): string | undefined {
  const value = ctx.container.properties[key];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new InputProblem(`${containerLabel(ctx)}: ${key} must be a single value, not an array`);
  return value;
}

/**
 * Reads mysqlUsername, mysqlPassword, mysqlSocket, mysqlHost and mysqlPort.
 * Unlike Dysnomia's module, mysqlPort is honoured: with mysqlHost, or alone
 * (then on 127.0.0.1).
 */
export function connectionSettings(ctx: OperationContext): ConnectionSettings {
  const settings: ConnectionSettings = {};
  const user = stringProperty(ctx, 'mysqlUsername');
  const password = stringProperty(ctx, 'mysqlPassword');
  const socket = stringProperty(ctx, 'mysqlSocket');
  const host = stringProperty(ctx, 'mysqlHost');
  const port = stringProperty(ctx, 'mysqlPort');
  if (user !== undefined) settings.user = user;
  if (password !== undefined) settings.password = password;
  if (port !== undefined) {
    const number = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
    if (!(number >= 1 && number <= 65535)) {
      throw new InputProblem(`${containerLabel(ctx)}: mysqlPort must be a TCP port number (1-65535), got ${JSON.stringify(port)}`);
    }
    settings.port = number;
  }
  if (host !== undefined) settings.host = host;
  else if (socket !== undefined) settings.socket = socket;
  else if (settings.port !== undefined) settings.host = '127.0.0.1';
  return settings;
}

/** Where the client tries to connect, for error messages. */
export function describeTarget(settings: ConnectionSettings): string {
  if (settings.host !== undefined) return `${settings.host}:${settings.port ?? 3306}`;
  if (settings.socket !== undefined) return `socket ${settings.socket}`;
  return "the client's default socket";
}
