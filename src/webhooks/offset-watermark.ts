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

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * The watermarks of every partition this dispatcher holds, and their commit: what is due is
 * committed in one request; a failed commit (a rebalance in progress, a broker restart) is
 * simply tried again on the next tick.
 */
export class PartitionWatermarks {
  private readonly byPartition = new Map<string, { topic: string; partition: number; wm: OffsetWatermark }>();

  of(topic: string, partition: number): OffsetWatermark {
    const key = `${topic}/${partition}`;
    let entry = this.byPartition.get(key);
    if (!entry) {
      entry = { topic, partition, wm: new OffsetWatermark() };
      this.byPartition.set(key, entry);
    }
    return entry.wm;
  }

  /** After a rejoin everything is fetched again from the committed offsets: forget it all. */
  clear(): void {
    this.byPartition.clear();
  }

  /** Commits every partition's watermark that moved; the error when the commit failed. */
  async commit(
    commitOffsets: (offsets: TopicPartitionOffset[]) => Promise<void>,
  ): Promise<Error | undefined> {
    const offsets: TopicPartitionOffset[] = [];
    const marks: Array<[OffsetWatermark, string]> = [];
    for (const { topic, partition, wm } of this.byPartition.values()) {
      const offset = wm.toCommit();
      if (offset === undefined) continue;
      offsets.push({ topic, partition, offset });
      marks.push([wm, offset]);
    }
    if (offsets.length === 0) return undefined;
    try {
      await commitOffsets(offsets);
    } catch (err) {
      return err as Error;
    }
    for (const [wm, offset] of marks) wm.committedAt(offset);
    return undefined;
  }
}
