// The performance goals of a benchmark run, printed as one table at its end:
// each figure with the anchor measured in the same run, the ratio, the goal
// and whether it is met. A goal is either a bound on the ratio to the anchor
// ({ maxRatio }) or an absolute bound ({ underSeconds }).

const seconds = (value) => (value < 1 ? `${(value * 1000).toFixed(0)} ms` : `${value.toFixed(2)} s`);

export class GoalTable {
  #rows = [];

  /**
   * @param {{ job: string, ours: number, anchor?: { label: string, seconds: number }, goal: { maxRatio?: number, underSeconds?: number }, note?: string }} row
   *   times in seconds
   */
  add(row) {
    this.#rows.push(row);
  }

  get missed() {
    return this.#rows.filter((row) => !met(row));
  }

  print(title = 'Goals') {
    if (this.#rows.length === 0) return;
    const lines = this.#rows.map((row) => {
      const ratio = row.anchor ? `${(row.ours / row.anchor.seconds).toFixed(2)}x` : '';
      const anchor = row.anchor ? `${row.anchor.label} ${seconds(row.anchor.seconds)}` : '(no anchor)';
      const goal = row.goal.maxRatio !== undefined ? `at most ${row.goal.maxRatio}x` : `under ${seconds(row.goal.underSeconds)}`;
      return [row.job, seconds(row.ours), anchor, ratio, goal, met(row) ? 'met' : 'NOT met', row.note ?? ''];
    });
    const header = ['job', 'ours', 'anchor (same run)', 'ratio', 'goal', '', ''];
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const format = (cells) => `  ${cells.map((c, i) => (i === 1 || i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd()}`;
    console.log(`\n${title}:`);
    console.log(format(header));
    for (const line of lines) console.log(format(line));
  }
}

function met(row) {
  if (row.goal.maxRatio !== undefined) return row.anchor !== undefined && row.ours <= row.goal.maxRatio * row.anchor.seconds;
  return row.ours < row.goal.underSeconds;
}
