import type { CapturedInfrastructure } from './captured-model.js';

/**
 * Property names that may hold a secret: anything with pass, pwd, secret,
 * token, key or credential in it (dbPass, mysqlPwd, apiKey, …). Wide on
 * purpose: what is held back is still named, and --show-secrets prints it.
 */
const SECRET_NAME = /pass|pwd|secret|token|key|credential/i;
/** The model's own way to reach a target: the path of the user's key file, not a secret, and needed to deploy again. */
const REACH_SETTINGS = new Set(['sshKey']);
/** A URL with a password in it: scheme://user:password@host… */
const URL_WITH_CREDENTIALS = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]*:[^/?#@\s]*@/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !REACH_SETTINGS.has(name);
}

/** A value that carries a secret whatever its name: a URL with credentials, or a list holding one. */
export function isSecretValue(value: unknown): boolean {
  if (typeof value === 'string') return URL_WITH_CREDENTIALS.test(value.trim());
  return Array.isArray(value) && value.some(isSecretValue);
}

/** Where a held-back property was: its target, container (if any) and path of names. */
export interface HeldBack {
  target: string;
  container?: string;
  key: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A copy of `properties` without secret-named keys (at any depth); their paths go to `found`. */
function withoutSecrets(properties: Record<string, unknown>, found: (key: string) => void, prefix = ''): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties)) {
    if (isSecretName(key) || isSecretValue(value)) found(`${prefix}${key}`);
    else kept[key] = isObject(value) ? withoutSecrets(value, found, `${prefix}${key}.`) : value;
  }
  return kept;
}

/** The model without secret properties, and which were held back (names only, never values). */
export function holdBackSecrets(model: CapturedInfrastructure): { model: CapturedInfrastructure; heldBack: HeldBack[] } {
  const heldBack: HeldBack[] = [];
  const result: CapturedInfrastructure = {};
  for (const [target, captured] of Object.entries(model)) {
    const properties = withoutSecrets(captured.properties, (key) => heldBack.push({ target, key }));
    const containers = Object.fromEntries(
      Object.entries(captured.containers).map(([container, props]) => [container, withoutSecrets(props, (key) => heldBack.push({ target, container, key }))]),
    );
    result[target] = { ...captured, properties, containers };
  }
  return { model: result, heldBack };
}

/** One line per held-back property, e.g. `test1, container mysql-production: mysqlPassword`. */
export function describeHeldBack(heldBack: HeldBack[]): string[] {
  return heldBack.map(({ target, container, key }) => `${target}${container === undefined ? ', properties' : `, container ${container}`}: ${key}`);
}
