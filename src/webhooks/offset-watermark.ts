/**
 * Deliveries finish out of order (one endpoint is slow, another fast; a retry waits minutes), but
 * Kafka commits one offset per partition. The watermark is the first offset not yet finished:
 * committing it never skips unfinished work; a restart redoes what finished above it (receivers
 * deduplicate by `webhook-id`).
 */
export class OffsetWatermark {
  /** Offsets handed out and not yet finished, plus finished ones above the first unfinished. */
  private readonly pending: bigint[] = [];
  private readonly finished = new Set<bigint>();
  /** The next offset expected (everything below was seen). */
  private next: bigint | undefined;
  private committed: bigint | undefined;

  /** Starts tracking an offset; false when it was already seen (a refetch after a rebalance or seek). */
  track(offset: string): boolean {
    const o = BigInt(offset);
    if (this.next !== undefined && o < this.next) return false;
    this.next = o + 1n;
    this.pending.push(o);
    return true;
  }

  finish(offset: string): void {
    this.finished.add(BigInt(offset));
    while (this.pending.length > 0 && this.finished.has(this.pending[0]!)) {
      this.finished.delete(this.pending.shift()!);
    }
  }

  /** In flight: tracked and not finished. */
  get size(): number {
    return this.pending.length - this.finished.size;
  }

  /** The offset to commit (the first unfinished, or the next expected), if it moved since the last commit. */
  toCommit(): string | undefined {
    const w = this.pending[0] ?? this.next;
    if (w === undefined || w === this.committed) return undefined;
    return w.toString();
  }

  committedAt(offset: string): void {
    this.committed = BigInt(offset);
  }
}
