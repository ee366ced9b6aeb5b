/**
 * A sliding window of records on event time, oldest first: a record is inserted in its place (the
 * workers' observations interleave out of order), and whatever falls before `newest − windowMs`, or
 * beyond `max` records, goes (into `evicted` when given). Returns the window's start.
 */
export function addToWindow<T extends { timestamp: number }>(
  list: T[],
  item: T,
  newest: number,
  windowMs: number,
  max: number,
  evicted?: T[],
): number {
  let i = list.length;
  while (i > 0 && list[i - 1]!.timestamp > item.timestamp) i--;
  list.splice(i, 0, item);
  const horizon = newest - windowMs;
  while (list.length > 0 && (list[0]!.timestamp < horizon || list.length > max)) {
    const gone = list.shift()!;
    evicted?.push(gone);
  }
  return horizon;
}
