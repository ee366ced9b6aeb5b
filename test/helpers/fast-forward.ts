import { type DetectionConfig, loadDetectionConfig } from '../../src/config/detection.js';

/**
 * Worker tests produce days of event time in a second or two, so a worker's market stream can
 * run hours or days ahead of its account stream. Keeping that much market history keeps every
 * snapshot exact, so the worker's results can be compared with replay's (production keeps
 * `reference.historyMs`, 30 min, for a live stream).
 */
export const FAST_FORWARD_OVERRIDES = { reference: { historyMs: 4 * 86_400_000, maxBuckets: 20_000 } };

export function fastForwardConfig(): DetectionConfig {
  const cfg = loadDetectionConfig();
  Object.assign(cfg.reference, FAST_FORWARD_OVERRIDES.reference);
  return cfg;
}
