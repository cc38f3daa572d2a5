import type { InfrastructureTarget } from './infrastructure.js';

const NIX_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', arm: 'armv7l' };

/** This machine's system as Disnix writes it (`x86_64-linux`, `aarch64-darwin` …): process.arch in Nix's spelling, then process.platform. */
export function currentSystem(): string {
  return `${NIX_ARCH[process.arch] ?? process.arch}-${process.platform}`;
}

/** A target's system: its declared `system`, else this machine's (Disnix's default too). */
export function systemOf(target: Pick<InfrastructureTarget, 'system'>): string {
  return target.system ?? currentSystem();
}
