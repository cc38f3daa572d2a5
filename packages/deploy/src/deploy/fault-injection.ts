/**
 * Fault injection for the test suite only: DYSNOMIA_TEST_FAULT names a step
 * of a transition and what happens there, read by the deploy code and by
 * nothing else.
 *
 *   kill:STEP[:N]          the coordinator kills itself (SIGKILL) the Nth time it reaches STEP (default the first)
 *   cut:STEP[:N]:TARGET    the SSH connection to TARGET is cut off there instead
 *
 * Steps: after-lock, after-transfer, after-deactivate, after-activate,
 * after-migrate (a service's state restored where it moved, not yet
 * recorded), after-profiles, after-record.
 *
 *
 * DYSNOMIA_TEST_PAUSE=STEP:FILE holds the coordinator at STEP: it writes
 * FILE.reached, then goes on once FILE exists (a test does something to the
 * targets meanwhile, e.g. collects their garbage between transfer and switch).
 */
export type FaultStep = 'after-lock' | 'after-transfer' | 'after-deactivate' | 'after-activate' | 'after-migrate' | 'after-profiles' | 'after-record';

interface Fault {
  action: 'kill' | 'cut';
  step: string;
  nth: number;
  target?: string;
}

function parse(spec: string | undefined): Fault | undefined {
  if (!spec) return undefined;
  const [action, step, nth, target] = spec.split(':');
  if ((action !== 'kill' && action !== 'cut') || !step) return undefined;
  return { action, step, nth: Number(nth || 1), ...(target ? { target } : {}) };
}

const fault = parse(process.env.DYSNOMIA_TEST_FAULT);
const reached = new Map<string, number>();

const pause = (() => {
  const spec = process.env.DYSNOMIA_TEST_PAUSE;
  const at = spec?.indexOf(':') ?? -1;
  return spec && at > 0 ? { step: spec.slice(0, at), file: spec.slice(at + 1) } : undefined;
})();

/** With a matching DYSNOMIA_TEST_PAUSE, says it got here (FILE.reached) and waits until FILE appears. */
export async function pausePoint(step: FaultStep): Promise<void> {
  if (pause === undefined || pause.step !== step) return;
  const { access, writeFile } = await import('node:fs/promises');
  const { setTimeout: delay } = await import('node:timers/promises');
  await writeFile(`${pause.file}.reached`, `${process.pid}\n`);
  while (!(await access(pause.file).then(() => true, () => false))) await delay(50);
}

/** Marks a step; with a matching DYSNOMIA_TEST_FAULT, kills this process or cuts a target off through `cut`. */
export function faultPoint(step: FaultStep, cut?: (target: string) => void): void {
  if (fault === undefined || fault.step !== step) return;
  const count = (reached.get(step) ?? 0) + 1;
  reached.set(step, count);
  if (count !== fault.nth) return;
  if (fault.action === 'kill') process.kill(process.pid, 'SIGKILL');
  else if (fault.target !== undefined) cut?.(fault.target);
}
