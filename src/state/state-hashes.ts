import type { ChainableCommander } from 'ioredis';
import { StoreError } from '../errors.js';
import { execPerNode, type PerNodeReplies, type Reply } from './node-pipelines.js';
import type { RedisClient } from './redis-connection.js';

export interface StateHash {
  /** Per input source, the position of the last event folded into the state. */
  positions: Record<string, number>;
  /** The state, JSON. */
  json: string;
}

type SavePipeline = ChainableCommander & {
  saveAccount(key: string, json: string, ttl: number, ...sourcePositions: Array<string | number>): unknown;
};

/**
 * Replicas that must hold a batch's state before the save counts as done (Redis `WAIT` on every
 * node written): asynchronous replication otherwise loses the last writes of a master that dies,
 * after their offsets were committed. 0: do not wait (a single server, or replicas not trusted).
 */
export interface ReplicaWait {
  replicas: number;
  timeoutMs: number;
}

export interface StateHashesOptions {
  onRoundTrip?: (operation: 'load' | 'save', seconds: number, ok: boolean) => void;
  replicaWait?: ReplicaWait;
}

/** Lua errors are bugs or bad arguments: retrying cannot fix them. Anything else (connection, failover) can. */
function retriable(err: Error): boolean {
  return !/script/i.test(err.message);
}

/**
 * JSON states with per-source positions, one Redis hash each (field s = the state, p:<source> =
 * position): the account baselines and the campaign aggregator's groups. A batch is read with one
 * pipeline of HGETALLs and written with one pipeline of `save-account` script calls (which refuses a
 * stale update): two round trips per batch, whatever its size — per node on a cluster, the nodes in
 * parallel. Each call touches one key's slot.
 */
export class StateHashes {
  /** Pipelines sent so far (for benchmarks): two per batch on one server, two per node touched on a cluster. */
  roundTrips = 0;

  constructor(
    readonly redis: RedisClient,
    private readonly ttlSeconds: number,
    private readonly opts: StateHashesOptions = {},
  ) {}

  async load(keys: readonly string[]): Promise<Array<StateHash | undefined>> {
    if (keys.length === 0) return [];
    return (await this.loadWith(keys)).hashes;
  }

  /** Like `load`, with one more GET (`alsoGet`) in the same round trip: the state epoch. */
  async loadWith(
    keys: readonly string[],
    alsoGet?: string,
  ): Promise<{ hashes: Array<StateHash | undefined>; also: string | null }> {
    const all = alsoGet === undefined ? keys : [...keys, alsoGet];
    const { results } = await this.exec('load', all, (p, key, i) => {
      if (i < keys.length) p.hgetall(key);
      else p.get(key);
    });
    let also: string | null = null;
    if (alsoGet !== undefined) {
      const [err, value] = results[keys.length]!;
      if (err) throw new StoreError(`loading ${alsoGet}: ${err.message}`, err);
      also = value as string | null;
    }
    const hashes = keys.map((key, i) => {
      const [err, value] = results[i]!;
      if (err) throw new StoreError(`loading ${key}: ${err.message}`, err);
      const fields = value as Record<string, string>;
      if (fields.s === undefined) return undefined;
      const positions: Record<string, number> = {};
      for (const [name, v] of Object.entries(fields))
        if (name.startsWith('p:')) positions[name.slice(2)] = Number(v);
      return { positions, json: fields.s };
    });
    return { hashes, also };
  }

  /**
   * Returns how many were stored (the rest were stale: a redelivered batch). With `replicaWait`,
   * returns only once every node written has that many replicas holding the writes; fewer within the
   * timeout is a retriable failure (the retry's saves are stale, its WAIT covers the earlier writes).
   */
  async save(entries: ReadonlyArray<StateHash & { key: string }>): Promise<number> {
    if (entries.length === 0) return 0;
    const wait = this.opts.replicaWait;
    const { results, tails } = await this.exec(
      'save',
      entries.map((e) => e.key),
      (p, key, i) => {
        const e = entries[i]!;
        (p as SavePipeline).saveAccount(key, e.json, this.ttlSeconds, ...Object.entries(e.positions).flat());
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
