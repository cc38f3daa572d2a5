/**
 * "Did you mean …?" for names a user typed that do not exist (types, targets,
 * containers, commands, options): the one place that decides what is close
 * enough to suggest.
 */

/**
 * Edit distance with adjacent transpositions (optimal string alignment):
 * insertions, deletions, substitutions and swaps of two neighbours cost 1,
 * so "wraper" and "wrapepr" are both 1 from "wrapper".
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i]!;
    const above = rows[i - 1]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      row[j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/** How far off a name may be and still be suggested: at most 2 edits, and at most a third of its length (1 for short names). */
function closeEnough(word: string, distance: number): boolean {
  return distance <= Math.min(2, Math.max(1, Math.floor(word.length / 3)));
}

/**
 * The candidate nearest to `word` when it is close enough and the only one
 * that near, else undefined: "test3" among test1 and test2 is more likely a
 * name not there yet than a slip towards either. Case is ignored when
 * measuring; an exact match is no suggestion (the word is not unknown).
 */
export function nearestName(word: string, candidates: Iterable<string>): string | undefined {
  let best: { names: string[]; distance: number } | undefined;
  for (const name of new Set(candidates)) {
    if (name === word) return undefined;
    const distance = editDistance(word.toLowerCase(), name.toLowerCase());
    if (!closeEnough(word, distance)) continue;
    if (best === undefined || distance < best.distance) best = { names: [name], distance };
    else if (distance === best.distance) best.names.push(name);
  }
  return best?.names.length === 1 ? best.names[0] : undefined;
}

/** `: did you mean "NAME"?` to append to an error about `word`, or '' when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>, quote: (name: string) => string = (name) => JSON.stringify(name)): string {
  const nearest = nearestName(word, candidates);
  return nearest === undefined ? '' : `: did you mean ${quote(nearest)}?`;
}
