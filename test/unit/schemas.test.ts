/**
 * The published JSON Schemas (`schemas/`): generated from the zod schemas, current, and in
 * agreement with zod on a corpus of valid and broken records — checked with a real JSON Schema
 * validator (ajv, draft 2020-12), on records keyguard really writes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { loadDetectionConfig } from '../../src/config/detection.js';
import { DetectionEngine } from '../../src/detection/engine.js';
import { ErrorCodes } from '../../src/errors.js';
import { contractJsonSchemas } from '../../src/events/json-schemas.js';
import { alertRecordJson, RECORD_SCHEMA_VERSION, SCHEMA_HEADER } from '../../src/events/records.js';
import { inputEventSchema } from '../../src/events/schema.js';
import { MarketState } from '../../src/market/market-state.js';
import { alertRecords } from '../../src/pipeline/alert-routing.js';
import { deadLetterMessage } from '../../src/pipeline/dead-letter.js';
import { processAll } from '../../src/replay/process-all.js';
import { syntheticScenario } from '../../src/simulate/synthetic-scenario.js';
import { MemoryBaselineStore } from '../../src/state/memory-store.js';
import { applyBreaker, webhookPayload } from '../../src/webhooks/delivery.js';
import { eventCorpus } from '../helpers/event-corpus.js';

const dir = path.join(import.meta.dirname, '..', '..', 'schemas');
const generated = contractJsonSchemas();
const ajv = new Ajv2020({ strict: false, allErrors: true });
const validator = (file: string) => ajv.compile(generated[file]!);

function hasInfinity(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (value && typeof value === 'object') return Object.values(value).some(hasInfinity);
  return false;
}

describe('published JSON Schemas', () => {
  it('are current: schemas/ holds exactly what `npm run schemas` generates', () => {
    const committed = readdirSync(dir).filter((f) => f.endsWith('.schema.json'));
    expect(committed.sort()).toEqual(Object.keys(generated).sort());
    for (const [file, schema] of Object.entries(generated))
      expect(
        JSON.parse(readFileSync(path.join(dir, file), 'utf8')),
        `${file} is stale: npm run schemas`,
      ).toEqual(schema);
  });

  it('accept exactly the input events zod accepts (but for numbers JSON Schema cannot call infinite)', () => {
    const valid = validator('input-event.schema.json');
    let accepted = 0;
    let infinite = 0;
    for (const input of eventCorpus()) {
      const z = inputEventSchema.safeParse(input);
      // zod strips unknown fields; the schema is the contract as read, so compare on what zod keeps.
      const schema = valid(z.success ? z.data : input);
      if (schema !== z.success && !z.success && hasInfinity(input)) {
        infinite++; // "1e400" is a JSON number to the schema; zod refuses what it parses to
        continue;
      }
      expect(
        schema,
        JSON.stringify(input, (_k, v) => (v === Infinity ? 'Infinity' : v)),
      ).toBe(z.success);
      if (z.success) accepted++;
    }
    expect(accepted).toBeGreaterThan(1000);
    expect(infinite).toBeGreaterThan(0);
  });

  it('accept the alerts, recommendations, dead letters and webhook bodies keyguard writes', async () => {
    const cfg = loadDetectionConfig();
    const events = syntheticScenario({
      seed: 21,
      days: 2,
      accounts: 25,
      victims: 2,
      attackStrength: 'strong',
    }).events;
    const { alerts } = await processAll(
      new DetectionEngine(cfg, new MemoryBaselineStore(1e12), new MarketState(cfg)),
      events,
      {
        batchSize: 1000,
      },
    );
    expect(alerts.some((a) => a.recommendation === 'revoke_key')).toBe(true);
    const [toAlerts, toRecommendations] = alertRecords(alerts, { alerts: 'a', recommendations: 'r' });
    const alert = validator('alert.schema.json');
    const recommendation = validator('recommendation.schema.json');
    for (const m of toAlerts!.messages) {
      const record = JSON.parse(String(m.value));
      expect(record.schemaVersion).toBe(RECORD_SCHEMA_VERSION);
      expect(m.headers?.[SCHEMA_HEADER]).toBe(`keyguard.alert/${RECORD_SCHEMA_VERSION}`);
      expect(alert(record), JSON.stringify(alert.errors)).toBe(true);
    }
    for (const m of toRecommendations!.messages)
      expect(recommendation(JSON.parse(String(m.value)))).toBe(true);
    const review = alerts.find((a) => a.recommendation === 'review');
    if (review) expect(recommendation(JSON.parse(alertRecordJson(review)))).toBe(false);

    const dead = deadLetterMessage(
      ErrorCodes.EVENT_INVALID,
      'price: expected a number',
      { topic: 't', partition: 0, offset: '7' },
      Buffer.from('acct'),
      Buffer.from('{"kind":"order","apiSecret":"s3cr3t"}'),
    );
    expect(dead.headers?.[SCHEMA_HEADER]).toBe(`keyguard.dead-letter/${RECORD_SCHEMA_VERSION}`);
    const deadLetter = validator('dead-letter.schema.json');
    expect(deadLetter(JSON.parse(String(dead.value))), JSON.stringify(deadLetter.errors)).toBe(true);
    expect(deadLetter({ ...JSON.parse(String(dead.value)), code: 'KG_ERR_NOT_A_CODE' })).toBe(false);

    const revoke = alerts.find((a) => a.recommendation === 'revoke_key')!;
    const payload = validator('webhook-payload.schema.json');
    for (const rec of [
      revoke,
      applyBreaker(revoke, { reason: 'breaker open', actionsInWindow: 4, windowSeconds: 60, maxActions: 3 }),
    ]) {
      const body = webhookPayload({
        webhookId: rec.alertId,
        endpointId: 'platform',
        recommendation: rec,
        attempts: 0,
        dueAt: 0,
        firstSeenAt: 0,
      });
      expect(payload(JSON.parse(JSON.stringify(body))), JSON.stringify(payload.errors)).toBe(true);
    }
  });
});
