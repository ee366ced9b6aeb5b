/**
 * The campaign aggregator's batch step, the same shape as the account engine: load every group the
 * batch touches in one store call, fold the observations in order (skipping those already in a
 * group's stored positions: a redelivery), return the alerts and the group updates. The caller
 * publishes the alerts, then commits the updates, then the input offsets.
 */
import type { DetectionConfig } from '../config/detection.js';
import type { Alert } from '../events/schema.js';
import type { CampaignStore, GroupState, GroupUpdate } from './campaign-store.js';
import { foldKeyAnomaly, newCohortState } from './leak-cohort.js';
import { groupKeyOf, type Observation } from './observation.js';
import { foldFirstBuy, newSymbolCampaignState } from './symbol-campaigns.js';

export interface SequencedObservation {
  seq: number;
  /** The observations topic-partition it was read from ("replay" when absent). */
  source?: string;
  observation: Observation;
}

export interface CampaignOutcome {
  alerts: Alert[];
  updates: GroupUpdate[];
  alreadyApplied: number;
}

export class CampaignEngine {
  constructor(
    private readonly cfg: DetectionConfig['campaign'],
    private readonly store: CampaignStore,
  ) {}

  async evaluate(batch: readonly SequencedObservation[]): Promise<CampaignOutcome> {
    const groups = [...new Set(batch.map((b) => groupKeyOf(b.observation)))];
    const stored = await this.store.loadGroups(groups);
    const working = new Map<string, GroupUpdate>();
    const outcome: CampaignOutcome = { alerts: [], updates: [], alreadyApplied: 0 };
    for (const { seq, source = 'replay', observation } of batch) {
      const group = groupKeyOf(observation);
      const before = stored.get(group);
      let entry = working.get(group);
      const applied = entry?.positions[source] ?? before?.positions[source] ?? Number.NEGATIVE_INFINITY;
      if (seq <= applied) {
        outcome.alreadyApplied++;
        continue;
      }
      if (!entry) {
        entry = { group, positions: {}, state: before?.state ?? this.newState(observation) };
        working.set(group, entry);
      }
      entry.positions[source] = seq;
      outcome.alerts.push(...this.fold(entry.state, observation));
    }
    outcome.updates = [...working.values()];
    return outcome;
  }

  async commit(outcome: CampaignOutcome): Promise<number> {
    return this.store.saveGroups(outcome.updates);
  }

  private newState(o: Observation): GroupState {
    return o.type === 'first_buy' ? newSymbolCampaignState() : newCohortState();
  }

  private fold(state: GroupState, o: Observation): Alert[] {
    if (o.type === 'first_buy' && state.kind === 'symbol') return foldFirstBuy(state, o, this.cfg);
    if (o.type === 'key_anomaly' && state.kind === 'cohort')
      return foldKeyAnomaly(state, o, this.cfg.cohort, this.cfg.baselineDays);
    return []; // group keys differ by type, so a mismatch cannot happen
  }
}
