import type { ChainableCommander } from 'ioredis';
import { StoreError } from '../errors.js';
import { execPerNode, type PerNodeReplies, type Reply } from './node-pipelines.js';
import type { RedisClient } from './redis-connection.js';

export interface StateRecord {
  /** Per input source, the position of the last event folded into the state. */
  positions: Record<string, number>;
  /** The state, JSON. */
  json: string;
}

type SavePipeline = ChainableCommander & {
  saveState(key: string, json: string, ttl: number, ...sourcePositions: Array<string | number>): unknown;
};

/**
 * A record as stored: a header line (JSON: source -> position, as a string so that no position
 * loses digits in Lua), then the state's JSON (which holds no raw newline). One string per key:
 * a hash with a value over 64 bytes is stored as a hash table, ~170 bytes more per account.
 */
export function parseStateRecord(record: string): StateRecord {
  const newline = record.indexOf('\n');
  if (newline < 0) throw new StoreError('a state record without its positions header');
  const header = JSON.parse(record.slice(0, newline)) as Record<string, string>;
  const positions: Record<string, number> = {};
  for (const source in header) positions[source] = Number(header[source]);
  return { positions, json: record.slice(newline + 1) };
}

/** The layout before state records: a hash, field s = the state, fields p:<source> = positions. */
function parseStateHash(fields: Record<string, string>): StateRecord | undefined {
  if (fields.s === undefined) return undefined;
  const positions: Record<string, number> = {};
  for (const [name, v] of Object.entries(fields))
    if (name.startsWith('p:')) positions[name.slice(2)] = Number(v);
  return { positions, json: fields.s };
}

function wrongType(err: Error | null): boolean {
  return err?.message.startsWith('WRONGTYPE') ?? false;
}

/**
 * Replicas that must hold a batch's state before the save counts as done (Redis `WAIT` on every
 * node written): asynchronous replication otherwise loses the last writes of a master that dies,
 * after their offsets were committed. 0: do not wait (a single server, or replicas not trusted).
 */
export interface ReplicaWait {
  replicas: number;
  timeoutMs: number;
}

export interface StateRecordsOptions {
  onRoundTrip?: (operation: 'load' | 'save', seconds: number, ok: boolean) => void;
  replicaWait?: ReplicaWait;
}

/** Lua errors are bugs or bad arguments: retrying cannot fix them. Anything else (connection, failover) can. */
function retriable(err: Error): boolean {
  return !/script/i.test(err.message);
}

/**
 * JSON states with per-source positions, one Redis string each (see `parseStateRecord`): the
 * account baselines and the campaign aggregator's groups. A batch is read with one pipeline of GETs
 * and written with one pipeline of `save-state` script calls (which refuses a stale update): two
 * round trips per batch, whatever its size — per node on a cluster, the nodes in parallel. Each
 * call touches one key's slot. Keys still in the older hash layout are read with one more round
 * trip (HGETALL) and rewritten as records by their next save.
 */
export class StateRecords {
  /** Pipelines sent so far (for benchmarks): two per batch on one server, two per node touched on a cluster. */
  roundTrips = 0;

  constructor(
    readonly redis: RedisClient,
    private readonly ttlSeconds: number,
    private readonly opts: StateRecordsOptions = {},
  ) {}

  async load(keys: readonly string[]): Promise<Array<StateRecord | undefined>> {
    if (keys.length === 0) return [];
    return (await this.loadWith(keys)).records;
  }

  /** Like `load`, with one more GET (`alsoGet`) in the same round trip: the state epoch. */
  async loadWith(
    keys: readonly string[],
    alsoGet?: string,
  ): Promise<{ records: Array<StateRecord | undefined>; also: string | null }> {
    const all = alsoGet === undefined ? keys : [...keys, alsoGet];
    const { results } = await this.exec('load', all, (p, key) => {
      p.get(key);
    });
    let also: string | null = null;
    if (alsoGet !== undefined) {
      const [err, value] = results[keys.length]!;
      if (err) throw new StoreError(`loading ${alsoGet}: ${err.message}`, err);
      also = value as string | null;
    }
    const records = keys.map((key, i) => {
      const [err, value] = results[i]!;
      if (wrongType(err)) return undefined; // the older layout: read below
      if (err) throw new StoreError(`loading ${key}: ${err.message}`, err);
      return value === null ? undefined : parseStateRecord(value as string);
    });
    const older = keys.flatMap((key, i) => (wrongType(results[i]![0]) ? [{ key, i }] : []));
    if (older.length > 0) {
      const replies = await this.exec(
        'load',
        older.map((o) => o.key),
        (p, key) => {
          p.hgetall(key);
        },
      );
      older.forEach(({ key, i }, n) => {
        const [err, value] = replies.results[n]!;
        if (err) throw new StoreError(`loading ${key}: ${err.message}`, err);
        records[i] = parseStateHash(value as Record<string, string>);
      });
    }
    return { records, also };
  }

  /**
   * Returns how many were stored (the rest were stale: a redelivered batch). With `replicaWait`,
   * returns only once every node written has that many replicas holding the writes; fewer within the
   * timeout is a retriable failure (the retry's saves are stale, its WAIT covers the earlier writes).
   */
  async save(entries: ReadonlyArray<StateRecord & { key: string }>): Promise<number> {
    if (entries.length === 0) return 0;
    const wait = this.opts.replicaWait;
    const { results, tails } = await this.exec(
      'save',
      entries.map((e) => e.key),
      (p, key, i) => {
        const e = entries[i]!;
        (p as SavePipeline).saveState(key, e.json, this.ttlSeconds, ...Object.entries(e.positions).flat());
      },
      wait && wait.replicas > 0 ? (p) => p.wait(wait.replicas, wait.timeoutMs) : undefined,
    );
    let applied = 0;
    for (const [err, value] of results) {
      if (err) throw new StoreError(`saving state: ${err.message}`, err, retriable(err));
      applied += Number(value);
    }
    if (wait && wait.replicas > 0)
      for (const [[err, acked]] of tails as Array<[Reply]>) {
        if (err) throw new StoreError(`waiting for replicas: ${err.message}`, err);
        if (Number(acked) < wait.replicas)
          throw new StoreError(
            `state saved on the master but held by ${acked} of ${wait.replicas} replicas after ${wait.timeoutMs} ms: not counted as saved`,
          );
      }
    return applied;
  }

  private async exec(
    what: 'load' | 'save',
    keys: readonly string[],
    add: (pipeline: ChainableCommander, key: string, index: number) => void,
    tail?: (pipeline: ChainableCommander) => void,
  ): Promise<PerNodeReplies> {
    const started = performance.now();
    try {
      const replies = await execPerNode(this.redis, keys, add, tail);
      this.roundTrips += replies.pipelines;
      // A pipeline sent while the connection is down "succeeds" with an error per command.
      const ok =
        replies.results.every(([err]) => !err) && replies.tails.every((t) => t.every(([err]) => !err));
      this.opts.onRoundTrip?.(what, (performance.now() - started) / 1000, ok);
      return replies;
    } catch (err) {
      this.roundTrips++;
      this.opts.onRoundTrip?.(what, (performance.now() - started) / 1000, false);
      throw new StoreError(`Redis ${what} failed: ${(err as Error).message}`, err);
    }
  }
}
