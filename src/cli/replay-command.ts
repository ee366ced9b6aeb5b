import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { CampaignEngine } from '../campaign/campaign-engine.js';
import { readConfigVersions } from '../config/config-versions.js';
import type { DetectionConfig } from '../config/detection.js';
import { DetectionEngine } from '../detection/engine.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../logger.js';
import { MarketState } from '../market/market-state.js';
import {
  formatSummary,
  jsonlAlertWriter,
  type ReplayInput,
  type ReplaySummary,
  replay,
} from '../replay/replay.js';
import { wholeNumber } from './options.js';
import { openCampaignStore, openStore } from './stores.js';

export interface ReplayCommandResult {
  summary: ReplaySummary;
  exitCode: number;
}

export async function replayCommand(
  argv: string[],
  loadConfig: (file?: string) => DetectionConfig,
  log: Logger,
  stdout: Writable,
  stderr: Writable,
): Promise<ReplayCommandResult> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      redis: { type: 'string' },
      'redis-prefix': { type: 'string' },
      config: { type: 'string' },
      'config-versions': { type: 'string' },
      batch: { type: 'string' },
      'reorder-ms': { type: 'string' },
    },
  });
  for (const file of positionals) if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const cfg = loadConfig(values.config);
  const versionsFile = values['config-versions'];
  const versions = versionsFile ? readConfigVersions(versionsFile, cfg) : undefined;
  const prefix = values['redis-prefix'] ?? `kg:replay:${Date.now()}:`;
  const onConnectionError = (err: Error) =>
    log.warn({ err: err.message, module: 'redis' }, 'redis connection error');
  const store = openStore(cfg, values.redis, prefix, onConnectionError);
  if (values.redis) log.info({ prefix }, 'replay keeps baselines in Redis');
  const engine = new DetectionEngine(cfg, store, new MarketState(cfg), versions ? { versions } : {});
  const campaignStore = openCampaignStore(cfg, values.redis, prefix, onConnectionError);
  const inputs: ReplayInput[] =
    positionals.length > 0
      ? positionals.map((f) => ({ name: f, stream: createReadStream(f) }))
      : [{ name: 'stdin', stream: process.stdin }];
  const out = values.out ? createWriteStream(values.out) : stdout;
  try {
    const summary = await replay(inputs, engine, {
      batchSize: Math.max(1, wholeNumber('batch', values.batch, 2000)),
      reorderMs: wholeNumber('reorder-ms', values['reorder-ms'], 60_000),
      onAlert: jsonlAlertWriter(out),
      onRejected: (r) => stderr.write(`${r.source}:${r.line}: ${r.code}: ${r.reason}\n`),
      maxFutureSkewMs: cfg.events.maxFutureSkewMs,
      ...(cfg.campaign.enabled ? { campaigns: new CampaignEngine(cfg.campaign, campaignStore) } : {}),
    });
    stderr.write(`${formatSummary(summary)}\n`);
    return { summary, exitCode: summary.rejected > 0 || summary.detectorFailures > 0 ? 3 : 0 };
  } finally {
    if (out !== stdout) await new Promise<void>((resolve) => (out as Writable).end(resolve));
    await store.close();
    await campaignStore.close();
  }
}
