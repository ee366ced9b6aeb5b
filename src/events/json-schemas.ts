/**
 * JSON Schemas (draft 2020-12) of every record keyguard reads or writes, generated from the zod
 * schemas that validate them — zod stays the single source. `npm run schemas` writes them to
 * `schemas/`; a test fails when the committed files are stale.
 */
import { z } from 'zod';
import { deadLetterSchema, RECORD_SCHEMA_VERSION, webhookPayloadSchema } from './records.js';
import {
  alertSchema,
  apiKeyEventSchema,
  fillEventSchema,
  inputEventSchema,
  orderEventSchema,
  tickerEventSchema,
  tradeEventSchema,
} from './schema.js';

const RECORDS: Record<string, { schema: z.ZodType; title: string; io: 'input' | 'output' }> = {
  'order-event': { schema: orderEventSchema, title: 'keyguard order event (input)', io: 'input' },
  'fill-event': { schema: fillEventSchema, title: 'keyguard fill event (input)', io: 'input' },
  'trade-event': { schema: tradeEventSchema, title: 'keyguard market trade event (input)', io: 'input' },
  'ticker-event': { schema: tickerEventSchema, title: 'keyguard market ticker event (input)', io: 'input' },
  'apikey-event': {
    schema: apiKeyEventSchema,
    title: 'keyguard API key lifecycle event (input)',
    io: 'input',
  },
  'input-event': { schema: inputEventSchema, title: 'any keyguard input event, by kind', io: 'input' },
  alert: {
    schema: alertSchema,
    title: `keyguard alert (keyguard.alerts), version ${RECORD_SCHEMA_VERSION}`,
    io: 'output',
  },
  recommendation: {
    schema: alertSchema.extend({ recommendation: z.enum(['revoke_key', 'freeze_account']) }),
    title: `keyguard recommendation (keyguard.recommendations): an alert recommending an automatic action, version ${RECORD_SCHEMA_VERSION}`,
    io: 'output',
  },
  'dead-letter': {
    schema: deadLetterSchema,
    title: `keyguard dead letter (keyguard.dead-letter, keyguard.webhooks.dead-letter), version ${RECORD_SCHEMA_VERSION}`,
    io: 'output',
  },
  'webhook-payload': {
    schema: webhookPayloadSchema,
    title: `keyguard webhook body (Standard Webhooks envelope), version ${RECORD_SCHEMA_VERSION}`,
    io: 'output',
  },
};

/** File name (`<name>.schema.json`) → the JSON Schema, with `$id` and `title`. */
export function contractJsonSchemas(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, r] of Object.entries(RECORDS)) {
    const generated = z.toJSONSchema(r.schema, { target: 'draft-2020-12', io: r.io }) as Record<
      string,
      unknown
    >;
    const { $schema, ...rest } = generated;
    out[`${name}.schema.json`] = {
      $schema,
      $id: `urn:keyguard:schema:${name}:${RECORD_SCHEMA_VERSION}`,
      title: r.title,
      ...rest,
    };
  }
  return out;
}
