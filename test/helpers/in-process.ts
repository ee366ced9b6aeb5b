import type { CampaignEngine } from '../../src/campaign/campaign-engine.js';
import type { ConfigTimeline } from '../../src/config/config-versions.js';
import type { DetectionConfig } from '../../src/config/detection.js';
import { DetectionEngine } from '../../src/detection/engine.js';
import type { InputEvent } from '../../src/events/schema.js';
import { MarketState } from '../../src/market/market-state.js';
import { processAll } from '../../src/replay/process-all.js';
import { MemoryBaselineStore } from '../../src/state/memory-store.js';

/**
 * One in-process run over the whole stream on the embedded store (nothing expires): the alerts a
 * worker, or two, must reproduce. With `campaigns`, each batch's observations go through it too;
 * with `versions`, each event is scored with the config version in effect at its time.
 */
export function inProcessRun(
  events: readonly InputEvent[],
  cfg: DetectionConfig,
  campaigns?: CampaignEngine,
  versions?: ConfigTimeline,
) {
  const engine = new DetectionEngine(
    cfg,
    new MemoryBaselineStore(1e12),
    new MarketState(cfg),
    versions ? { versions } : {},
  );
  return processAll(engine, events, { batchSize: 2000, firstSeq: 1, ...(campaigns ? { campaigns } : {}) });
}
