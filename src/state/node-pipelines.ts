import { type ChainableCommander, Cluster } from 'ioredis';
import { keySlot } from './key-slot.js';
import type { RedisClient } from './redis-connection.js';

/** A command's reply in a pipeline: its error, or its value. */
export type Reply = [Error | null, unknown];

export interface PerNodeReplies {
  /** One reply per key, in the keys' order. */
  results: Reply[];
  /** Per node, the replies of the commands `tail` added at the end of its pipeline. */
  tails: Reply[][];
  /** How many pipelines were sent (one per node touched): the round trips. */
  pipelines: number;
}

/**
 * One command per key, sent as one pipeline per Redis node, the pipelines in parallel: one round
 * trip per node per call, whatever the number of keys. A single server gets one pipeline. On a
 * cluster the keys are grouped by the nodes serving their slot (the client refuses a pipeline that
 * spans two); a slot that moves meanwhile (failover, resharding) fails its command, the slot map is
 * refreshed, and the caller retries on it. `tail` appends node-wide commands (WAIT) to every pipeline.
 */
export async function execPerNode(
  redis: RedisClient,
  keys: readonly string[],
  add: (pipeline: ChainableCommander, key: string, index: number) => void,
  tail?: (pipeline: ChainableCommander) => void,
): Promise<PerNodeReplies> {
  const groups = await groupByNode(redis, keys);
  const results: Reply[] = new Array(keys.length);
  const tails: Reply[][] = [];
  await Promise.all(
    groups.map(async (indices) => {
      const pipeline = redis.pipeline();
      for (const i of indices) add(pipeline, keys[i]!, i);
      tail?.(pipeline);
      const replies = await pipeline.exec();
      if (!replies) throw new Error('pipeline returned nothing');
      indices.forEach((i, n) => {
        results[i] = replies[n] as Reply;
      });
      tails.push(replies.slice(indices.length) as Reply[]);
    }),
  );
  // A pipeline spanning slots does not make the client follow a redirection (it does only when
  // every reply carries the same one): refresh the slot map here, so the caller's retry regroups.
  if (redis instanceof Cluster && [...results, ...tails.flat()].some(redirected))
    await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
  return { results, tails, pipelines: groups.length };
}

/** A reply saying the slot has moved (failover, resharding): the slot map is stale. */
function redirected(reply: Reply | undefined): boolean {
  const message = reply?.[0]?.message ?? '';
  return message.startsWith('MOVED ') || message.startsWith('ASK ');
}

async function groupByNode(redis: RedisClient, keys: readonly string[]): Promise<number[][]> {
  if (!(redis instanceof Cluster)) return [keys.map((_, i) => i)];
  // The slot map arrives with the first connection: until then nothing can be grouped.
  if (redis.slots.length === 0) await redis.ping();
  const groups = new Map<string, number[]>();
  keys.forEach((key, i) => {
    const slot = keySlot(key);
    const nodes = redis.slots[slot];
    const id = nodes ? nodes.join(';') : `unserved slot ${slot}`;
    let group = groups.get(id);
    if (!group) groups.set(id, (group = []));
    group.push(i);
  });
  return [...groups.values()];
}
