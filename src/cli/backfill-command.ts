/**
 * `keyguard backfill`: warm the baselines from history. Past contract events (JSONL) are folded into
 * the Redis store the workers read, with no scoring and no alerts, so a new deployment — or one
 * whose Redis lost its data — judges accounts against their real past from the first minute.
 */
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { DetectionConfig } from '../config/detection.js';
import { DetectionEngine } from '../detection/engine.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../logger.js';
import { MarketState } from '../market/market-state.js';
import { replay } from '../replay/replay.js';
import { openStore, wholeNumber } from './replay-command.js';

export const BACKFILL_USAGE = `keyguard backfill FILE… --redis URL [options]
  Folds past contract events (JSONL) into the baselines in Redis, emitting no alerts: accounts are
  judged against their real past from the first minute (a new deployment, or Redis lost its data).
  Idempotent: events are numbered in event-time order under the run's name, so the same files run
  again (or after a crash) skip what the store already holds. Progress on stderr.
  --redis URL         the Redis the workers use (required)
  --redis-prefix P    the workers' KEYGUARD_REDIS_PREFIX (default kg:)
  --name NAME         the run's name, positions are kept under it (default: the files' names)
  --config FILE       detection config overrides (JSON, any subset of config/detection.json)
  --batch N           events per batch (default 2000)
  --reorder-ms N      event-time reordering slack (default 60000)
Exit status: 0 every line folded, 3 some lines rejected (each reported on stderr), 2 usage error.`;

/** Progress lines at most this often (events). */
const PROGRESS_EVERY = 100_000;

export async function backfillCommand(
  argv: string[],
  loadConfig: (file?: string) => DetectionConfig,
  log: Logger,
  stderr: Writable,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      redis: { type: 'string' },
      'redis-prefix': { type: 'string', default: 'kg:' },
      name: { type: 'string' },
      config: { type: 'string' },
      batch: { type: 'string' },
      'reorder-ms': { type: 'string' },
    },
  });
  if (positionals.length === 0) throw new UsageError('backfill needs at least one JSONL file');
  if (!values.redis) throw new UsageError('backfill needs --redis URL (the store the workers read)');
  for (const file of positionals) if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const cfg = loadConfig(values.config);
  const name = values.name ?? positionals.map((f) => path.basename(f)).join('+');
  const store = openStore(cfg, values.redis, values['redis-prefix'], (err) =>
    log.warn({ err: err.message, module: 'redis' }, 'redis connection error'),
  );
  const engine = new DetectionEngine(cfg, store, new MarketState(cfg), { baselinesOnly: true });
  let accounts = 0;
  let skipped = 0;
  let nextProgress = PROGRESS_EVERY;
  const started = Date.now();
  const progress = (events: number) =>
    stderr.write(
      `backfill ${name}: ${events} events, ${accounts} account updates, ${skipped} already stored, ${Math.round(events / Math.max(0.001, (Date.now() - started) / 1000))} events/s\n`,
    );
  try {
    const summary = await replay(
      positionals.map((f) => ({ name: f, stream: createReadStream(f) })),
      engine,
      {
        batchSize: Math.max(1, wholeNumber('batch', values.batch, 2000)),
        reorderMs: wholeNumber('reorder-ms', values['reorder-ms'], 60_000),
        onAlert: () => undefined,
        onRejected: (r) => stderr.write(`${r.source}:${r.line}: ${r.code}: ${r.reason}\n`),
        maxFutureSkewMs: cfg.events.maxFutureSkewMs,
        source: `backfill:${name}`,
        onBatch: (p) => {
          accounts += p.accounts;
          skipped += p.alreadyApplied;
          if (p.events >= nextProgress) {
            nextProgress = p.events + PROGRESS_EVERY;
            progress(p.events);
          }
        },
      },
    );
    progress(summary.events);
    stderr.write(
      `backfill ${name}: done, ${summary.rejected} rejected lines${summary.detectorFailures ? `, ${summary.detectorFailures} failures` : ''}\n`,
    );
    return summary.rejected > 0 || summary.detectorFailures > 0 ? 3 : 0;
  } finally {
    await store.close();
  }
}
