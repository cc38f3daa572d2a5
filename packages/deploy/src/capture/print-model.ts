import type { CapturedInfrastructure } from './captured-model.js';

/** The model as JSON, 2-space indented, keys in the order the capture put them. */
export function toJson(model: CapturedInfrastructure): string {
  return `${JSON.stringify(model, null, 2)}\n`;
}

/** A Nix string literal: `\`, `"`, `${` and control characters escaped. */
export function nixString(value: string): string {
  const escaped = value
    .replaceAll('\\', '\\\\')
    .replaceAll('"', '\\"')
    .replaceAll('${', '\\${')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r')
    .replaceAll('\t', '\\t');
  return `"${escaped}"`;
}

/** Container names are printed bare when Nix allows it (`mysql-production = {`), as disnix-capture-infra does. */
function nixName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_'-]*$/.test(name) && !NIX_KEYWORDS.has(name) ? name : nixString(name);
}

const NIX_KEYWORDS = new Set(['if', 'then', 'else', 'assert', 'with', 'let', 'in', 'rec', 'inherit', 'or']);

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A property value: strings, numbers, booleans, null, lists and attribute sets (nested ones indented). */
function nixValue(value: unknown, indent: string): string {
  if (typeof value === 'string') return nixString(value);
  // As JSON.stringify does, a number with no literal form (NaN, Infinity) becomes null.
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[ ${value.map((item) => `${nixValue(item, indent)} `).join('')}]`;
  if (isObject(value)) return ['{', ...attributes(value, `${indent}  `), `${indent}}`].join('\n');
  return nixString(String(value));
}

/** `"key" = value;` lines, property names always quoted as in the article's output; what JSON leaves out (undefined, functions) is left out too. */
function attributes(properties: Record<string, unknown>, indent: string): string[] {
  return Object.entries(properties)
    .filter(([, value]) => value !== undefined && typeof value !== 'function')
    .map(([key, value]) => `${indent}${nixString(key)} = ${nixValue(value, indent)};`);
}

/** Any JSON value as a Nix expression (attribute names quoted, nested sets indented). */
export function toNixValue(value: unknown): string {
  return `${nixValue(value, '')}\n`;
}

/**
 * The Nix expression in the layout disnix-capture-infra prints:
 * `{ "test1" = { properties = { … }; containers = { … }; "system" = "…"; }; }`.
 */
export function toNix(model: CapturedInfrastructure): string {
  const lines = ['{'];
  for (const [name, target] of Object.entries(model)) {
    lines.push(`  ${nixString(name)} = {`, '    properties = {', ...attributes(target.properties, '      '), '    };', '    containers = {');
    for (const [container, properties] of Object.entries(target.containers)) {
      lines.push(`      ${nixName(container)} = {`, ...attributes(properties, '        '), '      };');
    }
    lines.push('    };');
    if (target.system !== undefined) lines.push(`    "system" = ${nixString(target.system)};`);
    if (target.numOfCores !== undefined) lines.push(`    numOfCores = ${target.numOfCores};`);
    if (target.targetProperty !== undefined) lines.push(`    targetProperty = ${nixString(target.targetProperty)};`);
    if (target.clientInterface !== undefined) lines.push(`    clientInterface = ${nixString(target.clientInterface)};`);
    lines.push('  };');
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
