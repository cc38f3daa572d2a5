/** MySQL/MariaDB limit the name of a database to 64 characters. */
const MAX_DATABASE_NAME_LENGTH = 64;

/** `name` as a quoted identifier: in backquotes, backquotes doubled. Safe for any name the server accepts. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/** Why the server would refuse `name` as a database name, or undefined when it is fine. */
export function databaseNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if ([...name].length > MAX_DATABASE_NAME_LENGTH) return `it is longer than ${MAX_DATABASE_NAME_LENGTH} characters`;
  if (name.endsWith(' ')) return 'it ends with a space';
  if (name.includes('\0')) return 'it contains a NUL character';
  return undefined;
}
