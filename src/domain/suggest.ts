/** How far a mistyped name may be from the name it meant: two edits (insert, delete, substitute, swap). */
export const SUGGESTION_DISTANCE = 2;

/** How many names a "did you mean" compares at most (the store's lookups bound them, nearest first). */
export const SUGGESTION_CANDIDATES = 200;

/** The sentence a message ends with when there is a near name. */
export const didYouMean = (suggestion: string | undefined): string => (suggestion === undefined ? '' : ` Did you mean "${suggestion}"?`);

/**
 * "Did you mean …" for a name that was not found (SPEC S10; admins' names of secrets and agents too): a name equal ignoring case wins,
 * then the nearest name within two edits. Each comparison is bounded by the names' length times the
 * band of two edits, so its cost does not grow with the square of the names' length.
 */
export function closestName(wanted: string, candidates: readonly string[]): string | undefined {
  const lower = wanted.toLowerCase();
  const sameIgnoringCase = candidates.find((name) => name.toLowerCase() === lower);
  if (sameIgnoringCase !== undefined) return sameIgnoringCase;
  let best: string | undefined;
  let bestDistance = SUGGESTION_DISTANCE + 1;
  for (const name of candidates) {
    if (Math.abs(name.length - wanted.length) >= bestDistance) continue;
    const distance = editDistance(lower, name.toLowerCase(), bestDistance);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Optimal-string-alignment distance, or `limit` when it is `limit` or more. Only the cells within
 * `limit` of the diagonal are computed (a cell further away is at least `limit`), and it gives up as
 * soon as a whole row has reached `limit`: O(length × limit) work.
 */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  const width = b.length + 1;
  let previous2 = new Array<number>(width).fill(limit);
  let previous = Array.from({ length: width }, (_, j) => Math.min(j, limit));
  let current = new Array<number>(width).fill(limit);
  for (let i = 1; i <= a.length; i++) {
    const from = Math.max(1, i - limit + 1);
    const to = Math.min(b.length, i + limit - 1);
    // Cells beyond the band hold `limit` or a value from three rows ago: the one just left of the band,
    // read as this row's left neighbour, is reset; those to its right were never written yet.
    current[0] = Math.min(i, limit);
    if (from > 1) current[from - 1] = limit;
    let rowMin = current[0] ?? limit;
    for (let j = from; j <= to; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((previous[j] ?? limit) + 1, (current[j - 1] ?? limit) + 1, (previous[j - 1] ?? limit) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, (previous2[j - 2] ?? limit) + 1);
      value = Math.min(value, limit);
      current[j] = value;
      if (value < rowMin) rowMin = value;
    }
    if (rowMin >= limit) return limit;
    [previous2, previous, current] = [previous, current, previous2];
  }
  return Math.min(previous[b.length] ?? limit, limit);
}
