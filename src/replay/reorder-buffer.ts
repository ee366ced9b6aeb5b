type Node<T> = { t: number; r: number; n: number; item: T };

/**
 * Puts a nearly ordered stream back into event-time order: holds events until the newest timestamp
 * seen is `slackMs` past them (a watermark), then releases them oldest first; at equal time by
 * `rank` (lower first), then in arrival order. An event older than what was already released goes
 * straight out: it is late, and the detectors handle out-of-order time themselves.
 */
export class ReorderBuffer<T> {
  private heap: Array<Node<T>> = [];
  private arrivals = 0;
  private newest = Number.NEGATIVE_INFINITY;
  private released = Number.NEGATIVE_INFINITY;
  late = 0;

  constructor(
    private readonly slackMs: number,
    private readonly rank: (item: T) => number = () => 0,
  ) {}

  /** The stream's watermark: the newest event time released so far (everything before it is out). */
  get watermark(): number {
    return this.released;
  }

  /** Adds an item; returns the items now ready, in order. */
  push(t: number, item: T): T[] {
    if (t < this.released) {
      this.late++;
      return [item];
    }
    this.insert({ t, r: this.rank(item), n: this.arrivals++, item });
    this.newest = Math.max(this.newest, t);
    return this.drain(this.newest - this.slackMs);
  }

  /** Releases everything (end of input). */
  flush(): T[] {
    return this.drain(Number.POSITIVE_INFINITY);
  }

  private drain(upTo: number): T[] {
    const out: T[] = [];
    while (this.heap.length > 0 && this.heap[0]!.t <= upTo) {
      const top = this.pop();
      this.released = Math.max(this.released, top.t);
      out.push(top.item);
    }
    return out;
  }

  private less(a: Node<T>, b: Node<T>): boolean {
    return a.t < b.t || (a.t === b.t && (a.r < b.r || (a.r === b.r && a.n < b.n)));
  }

  private insert(node: Node<T>): void {
    const h = this.heap;
    h.push(node);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): Node<T> {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
