/**
 * Reads the subset of the Nix language that `--generate-expr`, capture-infra
 * and query print (attribute sets, strings, lists, numbers, true, false,
 * null), so a test can compare it with the JSON form without
 * trusting the code that printed either.
 */
export type NixValue = string | number | boolean | null | NixValue[] | { [key: string]: NixValue };

export function parseNix(text: string): NixValue {
  let i = 0;
  const space = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const expect = (token: string) => {
    space();
    if (!text.startsWith(token, i)) throw new Error(`expected "${token}" at ${i}: ${text.slice(i, i + 20)}`);
    i += token.length;
  };
  const string = (): string => {
    expect('"');
    let value = '';
    while (text[i] !== '"') {
      if (i >= text.length) throw new Error('unterminated string');
      if (text[i] === '\\') i++;
      value += text[i++];
    }
    i++;
    return value;
  };
  const name = (): string => {
    space();
    if (text[i] === '"') return string();
    const match = /^[A-Za-z_][A-Za-z0-9_'-]*/.exec(text.slice(i));
    if (!match) throw new Error(`expected a name at ${i}`);
    i += match[0].length;
    return match[0];
  };
  const value = (): NixValue => {
    space();
    if (text[i] === '"') return string();
    const literal = /^(-?\d+(\.\d+)?|true|false|null)(?![\w'-])/.exec(text.slice(i));
    if (literal) {
      i += literal[0].length;
      return JSON.parse(literal[0]) as NixValue;
    }
    if (text[i] === '[') {
      i++;
      const items: NixValue[] = [];
      for (space(); text[i] !== ']'; space()) items.push(value());
      i++;
      return items;
    }
    expect('{');
    const set: Record<string, NixValue> = {};
    for (space(); text[i] !== '}'; space()) {
      const key = name();
      expect('=');
      set[key] = value();
      expect(';');
    }
    i++;
    return set;
  };
  const result = value();
  space();
  if (i !== text.length) throw new Error(`trailing text at ${i}`);
  return result;
}
