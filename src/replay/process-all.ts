/**
 * Runs an in-memory stream to the end, batch by batch (evaluate, then commit): for evaluation and
 * tests. Sequence numbers start at `firstSeq`. With `campaigns`, each batch's observations go
 * through the campaign engine too (what the internal topic does between workers).
 */
import { type CampaignEngine, runCampaigns } from '../campaign/campaign-engine.js';
import type { DetectionEngine, EventFailure } from '../detection/engine.js';
import { marketFirstAtEqualTime } from '../events/event-order.js';
import type { Alert, InputEvent } from '../events/schema.js';

export interface ProcessAllOptions {
  batchSize?: number;
  firstSeq?: number;
  campaigns?: CampaignEngine;
}

export async function processAll(
  engine: DetectionEngine,
  events: readonly InputEvent[],
  { batchSize = 2000, firstSeq = 1, campaigns }: ProcessAllOptions = {},
): Promise<{ alerts: Alert[]; failures: EventFailure[]; observations: number }> {
  const alerts: Alert[] = [];
  const failures: EventFailure[] = [];
  let observations = 0;
  const ordered = marketFirstAtEqualTime(events);
  for (let i = 0; i < ordered.length; i += batchSize) {
    const slice = ordered.slice(i, i + batchSize);
    const batch = slice.map((event, j) => ({ seq: firstSeq + i + j, event }));
    const outcome = await engine.evaluate(batch);
    alerts.push(...outcome.alerts);
    failures.push(...outcome.failures);
    if (campaigns)
      await runCampaigns(
        campaigns,
        outcome.observations,
        () => ++observations,
        (found) => {
          alerts.push(...found);
        },
      );
    await engine.commit(outcome);
    engine.advanceWatermark(slice[slice.length - 1]!.timestamp);
  }
  return { alerts, failures, observations };
}
