// Stopping what a benchmark started when it is interrupted (Ctrl-C, kill).

/**
 * Wraps `cleanup` so it runs once, and runs it on SIGINT or SIGTERM before
 * exiting with 128 + the signal's number. Call the returned function in the
 * benchmark's `finally` too.
 */
export function cleanupOnSignals(cleanup) {
  let running;
  const once = () => (running ??= Promise.resolve().then(cleanup));
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]]) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping what the benchmark started`);
      once().finally(() => process.exit(128 + number));
    });
  }
  return once;
}
