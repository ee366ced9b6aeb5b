/**
 * Polling "since" a time returns the items at that time again. A cursor keeps the newest time seen
 * and the ids seen at that time, so each item is taken exactly once across polls (and restarts,
 * when the cursor is stored).
 */
export interface TimeCursor {
  since: number;
  ids: string[];
}

export function takeNew<T extends { id: string; timestamp: number }>(
  cursor: TimeCursor | undefined,
  items: readonly T[],
): { fresh: T[]; cursor: TimeCursor | undefined } {
  let since = cursor?.since ?? Number.NEGATIVE_INFINITY;
  let ids = new Set(cursor?.ids ?? []);
  const fresh: T[] = [];
  for (const item of [...items].sort((a, b) => a.timestamp - b.timestamp)) {
    if (item.timestamp < since || (item.timestamp === since && ids.has(item.id))) continue;
    if (item.timestamp > since) {
      since = item.timestamp;
      ids = new Set();
    }
    ids.add(item.id);
    fresh.push(item);
  }
  return { fresh, cursor: Number.isFinite(since) ? { since, ids: [...ids] } : cursor };
}
