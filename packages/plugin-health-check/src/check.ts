import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** What a service's `healthCheck` property asks for, checked. */
export type HealthCheck =
  | { kind: 'http'; url: string; status: number; timeoutSeconds: number }
  | { kind: 'tcp'; host: string | undefined; port: number; timeoutSeconds: number };

export const DEFAULT_TIMEOUT_SECONDS = 30;
const MAX_TIMEOUT_SECONDS = 3600;
/** Between tries: Tomcat, for one, deploys a WAR about a second after it appears. */
const RETRY_INTERVAL_MS = 500;
/** One try never waits longer than this for its answer. */
const TRY_TIMEOUT_MS = 5000;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const KEYS = new Set(['url', 'status', 'port', 'host', 'timeout']);

/**
 * Reads a `healthCheck` property: `{ url, status?, timeout? }` (an HTTP(S)
 * URL that must answer `status`, default 200) or `{ port, host?, timeout? }`
 * (a TCP port that must accept a connection; host defaults to the target's
 * hostname). `timeout`: seconds to keep trying, default 30. Returns the check
 * or what is wrong with it.
 */
export function parseHealthCheck(value: unknown): HealthCheck | string {
  if (!isObject(value)) return 'must be an object: { url, status? } or { port, host? }';
  const unknown = Object.keys(value).filter((key) => !KEYS.has(key));
  if (unknown.length > 0) return `unknown key${unknown.length === 1 ? '' : 's'} ${unknown.map((k) => JSON.stringify(k)).join(', ')} (known: url, status, port, host, timeout)`;
  const timeout = value.timeout ?? DEFAULT_TIMEOUT_SECONDS;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0 || timeout > MAX_TIMEOUT_SECONDS) {
    return `timeout must be a number of seconds between 0 and ${MAX_TIMEOUT_SECONDS}, got ${JSON.stringify(timeout)}`;
  }
  if (value.url !== undefined) {
    if (value.port !== undefined || value.host !== undefined) return 'give either url (with status) or port (with host), not both';
    let url: URL;
    try {
      url = new URL(String(value.url));
    } catch {
      return `url must be an http:// or https:// URL, got ${JSON.stringify(value.url)}`;
    }
    if (typeof value.url !== 'string' || (url.protocol !== 'http:' && url.protocol !== 'https:')) return `url must be an http:// or https:// URL, got ${JSON.stringify(value.url)}`;
    const status = value.status ?? 200;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return `status must be an HTTP status (100-599), got ${JSON.stringify(status)}`;
    return { kind: 'http', url: url.href, status, timeoutSeconds: timeout };
  }
  if (value.port !== undefined) {
    if (value.status !== undefined) return 'status goes with url, not with port';
    const port = value.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return `port must be a TCP port (1-65535), got ${JSON.stringify(port)}`;
    if (value.host !== undefined && (typeof value.host !== 'string' || value.host === '' || /[\s/]/.test(value.host))) return `host must be a host name or address, got ${JSON.stringify(value.host)}`;
    return { kind: 'tcp', host: value.host as string | undefined, port, timeoutSeconds: timeout };
  }
  return 'needs url (an HTTP check) or port (a TCP check)';
}

export function describeCheck(check: HealthCheck, defaultHost: string): string {
  return check.kind === 'http' ? `${check.url} answers ${check.status}` : `${check.host ?? defaultHost}:${check.port} accepts connections`;
}

async function tryHttp(url: string, signal: AbortSignal): Promise<string | number> {
  const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(TRY_TIMEOUT_MS)]), redirect: 'manual' });
  await response.body?.cancel();
  return response.status;
}

function tryTcp(host: string, port: number, signal: AbortSignal): Promise<true> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: TRY_TIMEOUT_MS, signal });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error('no answer'));
    });
    socket.once('error', reject);
  });
}

export interface CheckOutcome {
  ok: boolean;
  /** What the last try saw: a status, or why there was no answer. */
  last: string;
  seconds: number;
}

/**
 * Tries the check until it passes or its timeout is over; a service that is
 * still starting (no connection, another status) gets until then.
 */
export async function runHealthCheck(check: HealthCheck, defaultHost: string, signal: AbortSignal = new AbortController().signal): Promise<CheckOutcome> {
  const started = Date.now();
  const deadline = started + check.timeoutSeconds * 1000;
  let last = 'not tried';
  for (;;) {
    try {
      if (check.kind === 'http') {
        const status = await tryHttp(check.url, signal);
        last = `answered ${status}`;
        if (status === check.status) return { ok: true, last, seconds: (Date.now() - started) / 1000 };
      } else {
        await tryTcp(check.host ?? defaultHost, check.port, signal);
        return { ok: true, last: 'connected', seconds: (Date.now() - started) / 1000 };
      }
    } catch (error) {
      if (signal.aborted) throw error;
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;
      last = cause ?? (error as Error).message;
    }
    if (Date.now() + RETRY_INTERVAL_MS > deadline) return { ok: false, last, seconds: (Date.now() - started) / 1000 };
    await sleep(RETRY_INTERVAL_MS, undefined, { signal });
  }
}
