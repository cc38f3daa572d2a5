import type { ClientChannel } from 'ssh2';
import type { ChildProcess } from 'node:child_process';

/**
 * Where a remote shell (dysnomia diagnose) is wired: this process's
 * standard streams. `interactive`: a terminal on both ends, so the remote
 * side gets a pseudo-terminal of this one's size, raw keystrokes, and its
 * size changes; otherwise `input` says whether standard input is passed on
 * (a pipe) or the command gets none (--command).
 */
export interface Terminal {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  interactive: boolean;
  input: 'pass' | 'none';
}

/** This process's streams as a Terminal: interactive when both stdin and stdout are terminals and input is passed on. */
export function processTerminal(input: Terminal['input']): Terminal {
  const interactive = input === 'pass' && process.stdin.isTTY === true && process.stdout.isTTY === true;
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, interactive, input };
}

/** The pseudo-terminal a remote side gets for an interactive terminal. */
export function ptyOf(terminal: Terminal): { rows: number; cols: number; term: string } | undefined {
  if (!terminal.interactive) return undefined;
  return { rows: terminal.stdout.rows || 24, cols: terminal.stdout.columns || 80, term: process.env.TERM || 'xterm' };
}

/** An exit status as a shell gives it: the code, or 128 + the signal's number. */
function statusOf(code: number | null | undefined, signal: string | null | undefined): number | undefined {
  if (typeof code === 'number') return code;
  if (signal) return 128 + (SIGNAL_NUMBERS[signal.replace(/^SIG/, '')] ?? 0);
  return undefined;
}
const SIGNAL_NUMBERS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, TERM: 15, PIPE: 13 };

/** Feeds stdin to `sink` (raw when interactive); returns how to stop. */
function passInput(terminal: Terminal, sink: NodeJS.WritableStream & { end(): unknown }): () => void {
  if (terminal.input === 'none') {
    sink.end();
    return () => undefined;
  }
  const { stdin } = terminal;
  if (terminal.interactive) stdin.setRawMode(true);
  const onData = (chunk: Buffer) => void sink.write(chunk);
  const onEnd = () => void sink.end();
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    if (terminal.interactive) stdin.setRawMode(false);
    stdin.pause();
  };
}

/**
 * Wires an SSH channel (a remote command, on a pseudo-terminal when the
 * terminal is interactive) to the terminal until it closes; resolves with
 * its exit status (255 when it ended without one: the connection was cut,
 * as ssh says it).
 */
export function wireChannel(channel: ClientChannel, terminal: Terminal): Promise<number> {
  return new Promise((resolve) => {
    let status: number | undefined;
    channel.on('exit', (code: number | null, signal?: string) => {
      status = statusOf(code, signal);
    });
    channel.on('data', (chunk: Buffer) => void terminal.stdout.write(chunk));
    channel.stderr.on('data', (chunk: Buffer) => void terminal.stderr.write(chunk));
    const stopInput = passInput(terminal, channel);
    const resize = () => channel.setWindow(terminal.stdout.rows || 24, terminal.stdout.columns || 80, 0, 0);
    if (terminal.interactive) terminal.stdout.on('resize', resize);
    channel.on('close', () => {
      stopInput();
      terminal.stdout.off('resize', resize);
      resolve(status ?? 255);
    });
  });
}

/** The same for a local process (a local target): its output is the terminal's already (stdio inherited or piped here). */
export function waitForChild(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(statusOf(code, signal) ?? 1));
  });
}
