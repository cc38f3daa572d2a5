import { inputError } from '../errors.js';
import type { ContainerProperties } from '../plugin.js';

/**
 * Parses Dysnomia's container configuration format: `key=value` lines, as a
 * shell would read them, but without evaluating anything.
 *
 * - blank lines and lines starting with `#` are ignored; `# …` after a value is a comment;
 * - a value is one shell word: unquoted text, '…' (literal), "…" (backslash
 *   escapes \" \\ \$ \`), concatenated when adjacent: a"b c"'d' is `ab cd`;
 *   quoted text may span lines, and keeps its whitespace and newlines;
 * - `key=("a" "b" c)` is an array, which may span lines;
 * - `$` and backquotes outside single quotes would be expanded by a shell: they
 *   are refused, as is anything else a shell would run (a second word).
 */
export function parseContainerFile(text: string, file: string): ContainerProperties {
  const properties: ContainerProperties = {};
  const parser = new Parser(text, file);
  for (;;) {
    parser.skipBlankLinesAndComments();
    if (parser.atEnd()) return properties;
    const key = parser.readKey();
    if (parser.peek() === '(') {
      const opening = parser.offset;
      parser.next();
      const items: string[] = [];
      for (;;) {
        parser.skipWhitespace(true);
        if (parser.atEnd()) throw parser.error(`array for "${key}" is not closed with ")"`, opening);
        if (parser.peek() === ')') {
          parser.next();
          break;
        }
        if (parser.peek() === '#') {
          parser.skipBlankLinesAndComments();
          continue;
        }
        items.push(parser.readWord(key, ')'));
      }
      properties[key] = items;
    } else {
      properties[key] = parser.readWord(key);
    }
    parser.expectEndOfLine(key);
  }
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SHELL_OPERATORS = '();&|<>';

class Parser {
  private position = 0;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  get offset(): number {
    return this.position;
  }
  /** An error at the line of `at` (default: where the parser is); lines are counted only here. */
  error(message: string, at = this.position) {
    const line = this.text.slice(0, at).split('\n').length;
    return inputError('ERR_DYSNOMIA_CONTAINER_SYNTAX', { file: this.file, line }, message);
  }
  atEnd(): boolean {
    return this.position >= this.text.length;
  }
  peek(): string {
    return this.text[this.position] ?? '';
  }
  next(): string {
    return this.text[this.position++] ?? '';
  }
  /** Spaces and tabs; newlines too when `newlines`. */
  skipWhitespace(newlines = false): void {
    while (!this.atEnd() && (this.peek() === ' ' || this.peek() === '\t' || this.peek() === '\r' || (newlines && this.peek() === '\n'))) this.position++;
  }
  private skipComment(): void {
    while (!this.atEnd() && this.peek() !== '\n') this.position++;
  }
  skipBlankLinesAndComments(): void {
    for (;;) {
      this.skipWhitespace(true);
      if (this.peek() !== '#') return;
      this.skipComment();
    }
  }

  readKey(): string {
    const lineEnd = this.text.indexOf('\n', this.position);
    const rest = this.text.slice(this.position, lineEnd < 0 ? undefined : lineEnd);
    const equals = rest.indexOf('=');
    // The line is not quoted back: it may be a value (a password) someone wrote without its key.
    if (equals < 0) throw this.error('expected key=value');
    const key = rest.slice(0, equals);
    if (!KEY.test(key)) throw this.error(`"${key}" is not a valid property name (letters, digits and _; no spaces around "=")`);
    this.position += equals + 1;
    return key;
  }

  /** One shell word; stops at unquoted whitespace, `#`, the end, or `stop`. */
  readWord(key: string, stop?: string): string {
    let value = '';
    while (!this.atEnd()) {
      const c = this.peek();
      if (/\s/.test(c) || c === '#' || c === stop) break;
      if (c === "'") value += this.readSingleQuoted(key);
      else if (c === '"') value += this.readDoubleQuoted(key);
      else {
        this.next();
        if (c === '$' || c === '`') throw this.expansion(key, c);
        if (SHELL_OPERATORS.includes(c)) throw this.error(`unquoted "${c}" in the value of "${key}": quote the value`);
        if (c === '\\') {
          if (this.atEnd()) throw this.error(`the value of "${key}" ends with a lone backslash`);
          const escaped = this.next();
          if (escaped !== '\n') value += escaped;
        } else value += c;
      }
    }
    return value;
  }

  private readSingleQuoted(key: string): string {
    const opening = this.position;
    const start = this.position + 1;
    const end = this.text.indexOf("'", start);
    if (end < 0) throw this.error(`unterminated single quote in the value of "${key}"`, opening);
    this.position = end + 1;
    return this.text.slice(start, end);
  }

  private readDoubleQuoted(key: string): string {
    const opening = this.position;
    this.next();
    let value = '';
    for (;;) {
      if (this.atEnd()) throw this.error(`unterminated double quote in the value of "${key}"`, opening);
      const c = this.next();
      if (c === '"') return value;
      if (c === '$' || c === '`') throw this.expansion(key, c);
      if (c === '\\') {
        const escaped = this.next();
        if (escaped === '') throw this.error(`unterminated double quote in the value of "${key}"`, opening);
        if (escaped !== '\n') value += '"\\$`'.includes(escaped) ? escaped : `\\${escaped}`;
      } else value += c;
    }
  }

  private expansion(key: string, c: string) {
    const what = c === '`' || this.peek() === '(' ? 'command substitution' : 'variable expansion';
    return this.error(`${what} ("${c}") in the value of "${key}" is not allowed: container files are not evaluated; put it in single quotes to mean it literally`);
  }

  /** After a value: only spaces, a comment, then the end of the line. */
  expectEndOfLine(key: string): void {
    this.skipWhitespace();
    if (this.peek() === '#') this.skipComment();
    if (this.atEnd() || this.peek() === '\n') return;
    // What follows is part of a value: it is named, never quoted (it may be a secret).
    throw this.error(`unexpected text after the value of "${key}": quote values that contain spaces`);
  }
}

/** Parses a `<name>.json` container: an object whose values are strings, numbers, booleans or arrays of them. */
export function parseJsonContainer(text: string, file: string): ContainerProperties {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message)?.[1];
    const line = position === undefined ? undefined : text.slice(0, Number(position)).split('\n').length;
    throw inputError('ERR_DYSNOMIA_CONTAINER_SYNTAX', line === undefined ? { file } : { file, line }, `invalid JSON: ${message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw inputError('ERR_DYSNOMIA_CONTAINER_SYNTAX', { file }, 'a JSON container must be an object of properties');
  }
  const properties: ContainerProperties = {};
  for (const [key, value] of Object.entries(data)) {
    if (!KEY.test(key)) {
      throw inputError('ERR_DYSNOMIA_CONTAINER_SYNTAX', { file }, `"${key}" is not a valid property name (letters, digits and _): modules get properties as environment variables`);
    }
    const scalar = (v: unknown) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);
    if (Array.isArray(value)) {
      const items = value.map(scalar);
      if (items.some((i) => i === undefined)) {
        throw inputError('ERR_DYSNOMIA_CONTAINER_SYNTAX', { file }, `property "${key}": array items must be strings, numbers or booleans`);
      }
      properties[key] = items as string[];
    } else {
      const text = scalar(value);
      if (text === undefined) throw inputError('ERR_DYSNOMIA_CONTAINER_SYNTAX', { file }, `property "${key}" must be a string, number, boolean or array`);
      properties[key] = text;
    }
  }
  return properties;
}

/** The environment Dysnomia gives an executable module: arrays joined by spaces, `type` left out. */
export function propertiesToEnvironment(properties: ContainerProperties): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(properties)) {
    if (key === 'type') continue;
    env[key] = Array.isArray(value) ? value.join(' ') : value;
  }
  return env;
}
