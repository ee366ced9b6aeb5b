import type { Cluster, Redis } from 'ioredis';
import { parseStateRecord, type StateRecord } from '../../src/state/state-records.js';

/** The state record stored under `key` (positions and state JSON), as a worker would read it. */
export async function readStateRecord(redis: Redis | Cluster, key: string): Promise<StateRecord | undefined> {
  const record = await redis.get(key);
  return record === null ? undefined : parseStateRecord(record);
}
