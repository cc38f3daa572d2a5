import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '@dysnomia/engine/internal/write-file-atomic.js';

/**
 * The state folder each SSH target reported (user@host:port → folder), kept
 * on the coordinator so the next deploy can probe a target over SFTP without
 * first asking its shell where DYSNOMIA_STATEDIR points.
 */
export class KnownStateDirs {
  private entries: Promise<Record<string, string>> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  static of(coordinatorStateDir: string): KnownStateDirs {
    return new KnownStateDirs(path.join(coordinatorStateDir, 'deploy-cache', 'target-state-dirs.json'));
  }

  private load(): Promise<Record<string, string>> {
    this.entries ??= readFile(this.file, 'utf8').then(
      (text) => JSON.parse(text) as Record<string, string>,
      () => ({}),
    );
    return this.entries;
  }

  async get(target: string): Promise<string | undefined> {
    return (await this.load())[target];
  }

  /** Records a target's folder (written only when it changed; writes are queued). */
  async set(target: string, stateDir: string): Promise<void> {
    const entries = await this.load();
    if (entries[target] === stateDir) return;
    entries[target] = stateDir;
    this.writing = this.writing.then(async () => {
      await mkdir(path.dirname(this.file), { recursive: true });
      await writeFileAtomic(this.file, `${JSON.stringify(entries, null, 2)}\n`);
    });
    await this.writing;
  }
}
