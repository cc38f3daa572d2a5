/**
 * The one rule for names that come from models and requests and end up as
 * file names (containers, components, profiles), as words of a message, a
 * marker path or a command line (services, targets, types): letters, digits
 * and `. _ + -`, not starting with `.` or `-`, at most 128 characters. So no
 * `/`, no `..`, no spaces, quotes or shell metacharacters, no control
 * characters; and never a name JavaScript objects already have
 * (`__proto__`, `constructor`, …), which would reach an object's prototype.
 */
export const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}$/;

/** Names every plain object answers to: refused, so a model can never reach a prototype through one. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype', ...Object.getOwnPropertyNames(Object.prototype)]);

/** Why `name` cannot be a name, or undefined when it can. `what` says what it names ("service", "container"). */
export function nameProblem(name: unknown, what: string): string | undefined {
  if (typeof name !== 'string') return `a ${what} name must be a string`;
  if (RESERVED.has(name)) return `"${name}" cannot be a ${what} name: every JavaScript object has it`;
  if (!SAFE_NAME.test(name)) {
    return `${JSON.stringify(name)} is not a valid ${what} name: use letters, digits and . _ + - (not starting with . or -), no "/", at most 128 characters`;
  }
  return undefined;
}

/** Whether `object` has `key` as its own property (never an inherited one such as toString). */
export function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/**
 * The first string in `value` (at any depth) holding a control character a
 * program or a file cannot take (a NUL byte, say), as the path of keys to
 * it; undefined when there is none. The value itself is never reported: it
 * may be a password.
 */
export function controlCharacterAt(value: unknown, at: Array<string | number> = []): Array<string | number> | undefined {
  if (typeof value === 'string') return /\0/.test(value) ? at : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = controlCharacterAt(value[i], [...at, i]);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const found = controlCharacterAt(inner, [...at, key]);
      if (found) return found;
    }
  }
  return undefined;
}
