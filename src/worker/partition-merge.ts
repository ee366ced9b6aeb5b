/**
 * Puts one account's events back into event-time order across topics. Orders and fills of an
 * account arrive on two topics (same partition number, same worker) and are fetched in separate
 * batches; scoring them topic by topic would see an order's fills before the order. The merge
 * releases records up to the "safe time" — the earliest point any still-active topic may yet
 * deliver — and merges the topics by timestamp, keeping each topic-partition in offset order (so
 * per-source positions stay valid for idempotency).
 */
export interface BufferedRecord<T> {
  topic: string;
  offset: string;
  /** Event time; undefined for a record that could not be decoded (released at once). */
  timestamp: number | undefined;
  payload: T;
}

export class PartitionMerge<T> {
  private readonly queues = new Map<string, BufferedRecord<T>[]>();
  private readonly frontier = new Map<string, number>();
  private readonly caughtUp = new Map<string, boolean>();
  private heldSince?: number;

  /**
   * `topicOrder`: the topics to wait for, in the order that breaks ties at equal timestamps (orders
   * before fills: an order precedes its fills). A topic not fetched yet holds the others back for
   * at most `maxHoldMs` (a partition with no data at all is never fetched).
   */
  constructor(
    private readonly topicOrder: readonly string[],
    private readonly maxHoldMs = 1000,
  ) {}

  /** Adds a fetched batch; `caughtUp` = the batch reached the partition's end at fetch time. */
  add(topic: string, records: readonly BufferedRecord<T>[], caughtUp: boolean): void {
    const queue = this.queues.get(topic) ?? [];
    for (const r of records) {
      queue.push(r);
      if (r.timestamp !== undefined)
        this.frontier.set(topic, Math.max(this.frontier.get(topic) ?? r.timestamp, r.timestamp));
    }
    this.queues.set(topic, queue);
    this.caughtUp.set(topic, caughtUp);
  }

  /** The latest event time up to which every topic has delivered all it will. */
  safeTime(now = Date.now()): number {
    let safe = Number.POSITIVE_INFINITY;
    if (this.size === 0) this.heldSince = undefined;
    else {
      this.heldSince ??= now;
      const unseen = this.topicOrder.some((t) => !this.caughtUp.has(t));
      if (unseen && now - this.heldSince < this.maxHoldMs) return Number.NEGATIVE_INFINITY;
    }
    for (const [topic, frontier] of this.frontier) {
      const pending = (this.queues.get(topic)?.length ?? 0) > 0;
      if (pending || !this.caughtUp.get(topic)) safe = Math.min(safe, frontier);
    }
    return safe;
  }

  /** Removes and returns what can be processed now, merged in event-time order. */
  take(now = Date.now()): BufferedRecord<T>[] {
    const safe = this.safeTime(now);
    const heads = new Map<string, BufferedRecord<T>[]>();
    for (const [topic, queue] of this.queues) {
      let n = 0;
      while (n < queue.length && (queue[n]!.timestamp === undefined || queue[n]!.timestamp! <= safe)) n++;
      if (n > 0) heads.set(topic, queue.splice(0, n));
    }
    const out: BufferedRecord<T>[] = [];
    const rank = (t: string) => {
      const i = this.topicOrder.indexOf(t);
      return i < 0 ? this.topicOrder.length : i;
    };
    for (;;) {
      let best: string | undefined;
      for (const [topic, list] of heads) {
        if (list.length === 0) continue;
        if (best === undefined) {
          best = topic;
          continue;
        }
        const a = list[0]!.timestamp ?? Number.NEGATIVE_INFINITY;
        const b = heads.get(best)![0]!.timestamp ?? Number.NEGATIVE_INFINITY;
        if (a < b || (a === b && rank(topic) < rank(best))) best = topic;
      }
      if (best === undefined) return out;
      out.push(heads.get(best)!.shift()!);
    }
  }

  get size(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }
}
