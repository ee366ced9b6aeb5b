import type { Redis } from 'ioredis';
import { StoreError } from '../errors.js';
import type { ScriptCommands } from './commands/index.js';

export interface StateHash {
  /** Per input source, the position of the last event folded into the state. */
  positions: Record<string, number>;
  /** The state, JSON. */
  json: string;
}

type SavePipeline = ReturnType<Redis['pipeline']> & {
  saveAccount(key: string, json: string, ttl: number, ...sourcePositions: Array<string | number>): unknown;
};

/**
 * JSON states with per-source positions, one Redis hash each (field s = the state, p:<source> =
 * position): the account baselines and the campaign aggregator's groups. A batch is read with one
 * pipeline of HGETALLs and written with one pipeline of `save-account` script calls (which refuses a
 * stale update): two round trips per batch, whatever its size. Each call touches one key's slot.
 */
export class StateHashes {
  /** Round trips made so far (for benchmarks). */
  roundTrips = 0;

  constructor(
    readonly redis: Redis & ScriptCommands,
    private readonly ttlSeconds: number,
    private readonly onRoundTrip?: (operation: 'load' | 'save', seconds: number, ok: boolean) => void,
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
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hgetall(key);
    if (alsoGet !== undefined) pipeline.get(alsoGet);
    const results = await this.exec(pipeline, 'load');
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

  /** Returns how many were stored (the rest were stale: a redelivered batch). */
  async save(entries: ReadonlyArray<StateHash & { key: string }>): Promise<number> {
    if (entries.length === 0) return 0;
    const pipeline = this.redis.pipeline() as SavePipeline;
    for (const e of entries)
      pipeline.saveAccount(e.key, e.json, this.ttlSeconds, ...Object.entries(e.positions).flat());
    const results = await this.exec(pipeline, 'save');
    let applied = 0;
    for (const [err, value] of results) {
      if (err) throw new StoreError(`saving state: ${err.message}`, err, false);
      applied += Number(value);
    }
    return applied;
  }

  private async exec(
    pipeline: ReturnType<Redis['pipeline']>,
    what: 'load' | 'save',
  ): Promise<[Error | null, unknown][]> {
    this.roundTrips++;
    const started = performance.now();
    try {
      const results = await pipeline.exec();
      if (!results) throw new Error('pipeline returned nothing');
      // A pipeline sent while the connection is down "succeeds" with an error per command.
      const ok = results.every(([err]) => !err);
      this.onRoundTrip?.(what, (performance.now() - started) / 1000, ok);
      return results;
    } catch (err) {
      this.onRoundTrip?.(what, (performance.now() - started) / 1000, false);
      throw new StoreError(`Redis ${what} failed: ${(err as Error).message}`, err);
    }
  }
}
