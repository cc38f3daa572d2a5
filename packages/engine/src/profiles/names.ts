import { DysnomiaError } from '../errors.js';

/** A profile is a file name in profiles/: no slash, no leading dot, and not shaped like a generation link. */
export function assertProfileName(name: string): string {
  const why =
    name === ''
      ? 'it is empty'
      : name.includes('/') || name.includes('\0')
        ? 'it has a "/"'
        : name.startsWith('.')
          ? 'it starts with a dot'
          : /-\d+-link$/.test(name)
            ? 'it ends like a generation link (-N-link)'
            : name.length > 200
              ? 'it is longer than 200 characters'
              : undefined;
  if (why !== undefined) throw new DysnomiaError('ERR_DYSNOMIA_USAGE', `invalid profile name '${name}': ${why}`);
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
