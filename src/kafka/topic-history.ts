/**
 * Reads the records of some topics from a point in time up to the ends they had when the read
 * began, batch by batch, then stops: history for `keyguard backfill`. A throwaway consumer group
 * that never commits; the caller's handler runs one batch at a time, and the read goes on only
 * once it returns.
 */
import type { Kafka } from 'kafkajs';

export interface HistoryRecord {
  topic: string;
  partition: number;
  offset: number;
  value: string;
}

export interface HistoryRange {
  topic: string;
  partition: number;
  /** First offset at or after the start time, and the end (exclusive) when the read began. */
  from: number;
  to: number;
}

export async function readTopicsSince(
  kafka: Kafka,
  topics: readonly string[],
  sinceMs: number,
  onBatch: (records: HistoryRecord[]) => Promise<void>,
  groupId = `keyguard-backfill-${process.pid}-${Date.now()}`,
): Promise<HistoryRange[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ranges: HistoryRange[] = [];
  try {
    for (const topic of new Set(topics)) {
      const ends = await admin.fetchTopicOffsets(topic);
      const starts = await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs);
      for (const end of ends) {
        const start = starts.find((s) => s.partition === end.partition);
        // No record at or after the time: the offset returned is the end (nothing to read).
        const from = Math.min(Number(start?.offset ?? end.high), Number(end.high));
        ranges.push({ topic, partition: end.partition, from, to: Number(end.high) });
      }
    }
  } finally {
    await admin.disconnect();
  }
  const pending = new Set(ranges.filter((r) => r.from < r.to).map((r) => `${r.topic}/${r.partition}`));
  if (pending.size === 0) return ranges;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...new Set(topics)], fromBeginning: false });
    let failed: unknown;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning }) => {
        const key = `${batch.topic}/${batch.partition}`;
        const range = ranges.find((r) => r.topic === batch.topic && r.partition === batch.partition)!;
        const records: HistoryRecord[] = [];
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          if (offset < range.from || offset >= range.to) continue;
          records.push({
            topic: batch.topic,
            partition: batch.partition,
            offset,
            value: m.value?.toString('utf8') ?? '',
          });
        }
        try {
          if (records.length > 0) await onBatch(records);
        } catch (err) {
          failed = err;
          finish();
          return;
        }
        const last = batch.messages[batch.messages.length - 1];
        if (last) resolveOffset(last.offset);
        await heartbeat();
        if (last && Number(last.offset) >= range.to - 1 && pending.delete(key) && pending.size === 0)
          finish();
        if (!isRunning()) return;
      },
    });
    for (const r of ranges)
      if (r.from < r.to) consumer.seek({ topic: r.topic, partition: r.partition, offset: String(r.from) });
    await finished;
    if (failed) throw failed;
    return ranges;
  } finally {
    await consumer.disconnect();
  }
}
