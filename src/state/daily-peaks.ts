/**
 * Daily peaks: a baseline as the highest value reached on each day, flattened [day, peak, day,
 * peak, …] oldest first (compact JSON). "Today" is left out of the baseline, so a burst in progress
 * never raises its own bar.
 */
export const DAY_MS = 86_400_000;

/** Raises `day`'s peak to `value` and drops days older than `oldestDay` (mutates `p`). */
export function notePeak(p: number[], day: number, value: number, oldestDay: number): void {
  let k = p.length - 2;
  while (k >= 0 && p[k]! > day) k -= 2;
  if (k >= 0 && p[k] === day) p[k + 1] = Math.max(p[k + 1]!, value);
  else p.splice(k + 2, 0, day, value);
  while (p.length > 0 && p[0]! < oldestDay) p.splice(0, 2);
}

/** Highest peak on any previous day within `baselineDays` of `at` (0 when none). */
export function previousPeak(p: number[], at: number, baselineDays: number): number {
  const today = Math.floor(at / DAY_MS);
  let peak = 0;
  for (let i = 0; i < p.length; i += 2) {
    const day = p[i]!;
    if (day < today && day >= today - baselineDays) peak = Math.max(peak, p[i + 1]!);
  }
  return peak;
}

/** One more occurrence at `at`: `[day, n]`, n counting within that UTC day (to number ids by day). */
export function countInDay(
  counter: readonly [number, number] | undefined,
  at: number,
): [day: number, n: number] {
  const day = Math.floor(at / DAY_MS);
  return [day, counter?.[0] === day ? counter[1] + 1 : 1];
}
