import type { ContainerProperties, PropertyValue } from '../plugin.js';

/** What a machine offers: its properties and containers, as `dysnomia-containers --generate-expr` describes it. */
export interface MachineDescription {
  properties?: ContainerProperties;
  containers: Record<string, ContainerProperties>;
  system?: PropertyValue;
}

function nixString(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('${', '\\${')}"`;
}

function nixValue(value: PropertyValue): string {
  return Array.isArray(value) ? `[ ${value.map((v) => `${nixString(v)} `).join('')}]` : nixString(value);
}

function nixAttrName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_'-]*$/.test(name) ? name : nixString(name);
}

function attributes(properties: ContainerProperties, indent: string): string[] {
  return Object.entries(properties)
    .filter(([key]) => key !== 'type')
    .map(([key, value]) => `${indent}${nixString(key)} = ${nixValue(value)};`);
}

/** The Nix expression in the layout Dysnomia prints (no trailing newline, as Dysnomia's `echo -n "}"`). */
export function toNixExpression(machine: MachineDescription): string {
  const lines = ['{'];
  if (machine.properties) lines.push('  properties = {', ...attributes(machine.properties, '    '), '  };');
  lines.push('  containers = {');
  for (const [name, properties] of Object.entries(machine.containers)) {
    lines.push(`    ${nixAttrName(name)} = {`, ...attributes(properties, '      '), '    };');
  }
  lines.push('  };');
  if (machine.system !== undefined) lines.push(`  "system" = ${nixValue(machine.system)};`);
  return `${lines.join('\n')}\n}`;
}

/** The same description as JSON (`type` left out of containers, as in the Nix form). */
export function toJsonDescription(machine: MachineDescription): string {
  const strip = (properties: ContainerProperties) => Object.fromEntries(Object.entries(properties).filter(([key]) => key !== 'type'));
  const description = {
    ...(machine.properties ? { properties: machine.properties } : {}),
    containers: Object.fromEntries(Object.entries(machine.containers).map(([name, p]) => [name, strip(p)])),
    ...(machine.system === undefined ? {} : { system: machine.system }),
  };
  return `${JSON.stringify(description, null, 2)}\n`;
}
