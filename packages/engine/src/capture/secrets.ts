import type { CapturedInfrastructure } from './captured-model.js';

/** Property names that hold a secret: passwords, passphrases, tokens, private keys, credentials. */
const SECRET_NAME = /passw(or)?d|passphrase|secret|token|private[-_ ]?key|credential|api[-_]?key/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
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
    if (isSecretName(key)) found(`${prefix}${key}`);
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
