/**
 * The only permission bits the store keeps: executable, and private. A file
 * whose source mode lets neither group nor others read it (a password file
 * written 0600) is private; everything else is public, as in Nix. Both bits
 * are part of the entry's hash and travel in archives as the tar header mode.
 */

export interface FileKind {
  executable: boolean;
  private: boolean;
}

export function isPrivateMode(mode: number): boolean {
  return (mode & 0o044) === 0;
}

/** The kind of a file on disk (the owner's executable bit, as Nix). */
export function fileKind(mode: number): FileKind {
  return { executable: (mode & 0o100) !== 0, private: isPrivateMode(mode) };
}

/** The mode of a file inside a finished (read-only) entry. */
export function storedFileMode(kind: FileKind): number {
  if (kind.private) return kind.executable ? 0o500 : 0o400;
  return kind.executable ? 0o555 : 0o444;
}

/** The mode a file is written with while an entry is being filled (owner-writable, same kind). */
export function writableFileMode(kind: FileKind): number {
  if (kind.private) return kind.executable ? 0o700 : 0o600;
  return kind.executable ? 0o755 : 0o644;
}
