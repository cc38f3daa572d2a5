import { DysnomiaError } from '../errors.js';

/** Why `name` cannot name a profile, or undefined. */
function profileNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name.includes('/')) return 'it has a "/"';
  if (/[\x00-\x1f\x7f]/.test(name)) return 'it has a control character (a newline, say)';
  if (name.startsWith('.')) return 'it starts with a dot';
  if (/-\d+-link$/.test(name)) return 'it ends like a generation link (-N-link)';
  if (name.length > 200) return 'it is longer than 200 characters';
  return undefined;
}

/** A profile is a file name in profiles/: no slash, no control character, no leading dot, and not shaped like a generation link. */
export function assertProfileName(name: string): string {
  const why = profileNameProblem(name);
  if (why !== undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `invalid profile name ${JSON.stringify(name)}: ${why}`);
  return name;
}

export function generationLinkName(profile: string, generation: number): string {
  return `${profile}-${generation}-link`;
}

export function parseGenerationLink(profile: string, linkName: string): number | undefined {
  if (!linkName.startsWith(`${profile}-`) || !linkName.endsWith('-link')) return undefined;
  const middle = linkName.slice(profile.length + 1, -'-link'.length);
  return /^\d+$/.test(middle) ? Number(middle) : undefined;
}
