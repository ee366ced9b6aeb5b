/**
 * `keyguard collect` configuration (`KEYGUARD_COLLECT_CONFIG`): the platform's connected keys,
 * each with the account it belongs to, the symbols to follow, and the environment variable holding
 * its credentials (read-only permission is enough; keyguard never logs them).
 */
import { z } from 'zod';
import { readJsonConfig } from '../config/json-file.js';
import { ConfigError } from '../errors.js';
import { describeIssues } from '../events/decode.js';
import {
  ccxtClientFields,
  ccxtExchangeId,
  requestRetrySchema,
  unifiedSymbols,
} from '../ingest/ccxt-config.js';

const ms = z.number().int().positive();

const keySchema = z.object({
  exchange: ccxtExchangeId,
  accountId: z.string().min(1),
  apiKeyId: z.string().min(1),
  /** `apiKey:secret` or `apiKey:secret:passphrase` (KuCoin and others need the passphrase). */
  credentialsEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/),
  symbols: unifiedSymbols,
});

export const collectConfigSchema = z.object({
  keys: z.array(keySchema).min(1),
  pollIntervalMs: ms.default(10_000),
  /** Per exchange id: ccxt options, URL overrides, how markets are known (as for the market feed). */
  venues: z.record(z.string(), z.object(ccxtClientFields)).default({}),
  retry: requestRetrySchema,
});

export type CollectConfig = z.infer<typeof collectConfigSchema>;
export type CollectedKey = CollectConfig['keys'][number];

export interface Credentials {
  apiKey: string;
  secret: string;
  password?: string;
}

export function credentialsFor(key: CollectedKey, env: NodeJS.ProcessEnv): Credentials {
  const value = env[key.credentialsEnv];
  if (!value) throw new ConfigError(`key ${key.apiKeyId}: ${key.credentialsEnv} is not set`);
  const [apiKey, secret, password] = value.split(':');
  // Never echo the value.
  if (!apiKey || !secret)
    throw new ConfigError(`key ${key.apiKeyId}: ${key.credentialsEnv} must be apiKey:secret[:passphrase]`);
  return { apiKey, secret, ...(password ? { password } : {}) };
}

export function loadCollectConfig(file: string): CollectConfig {
  const r = collectConfigSchema.safeParse(readJsonConfig(file, 'collect config'));
  if (!r.success) throw new ConfigError(`invalid collect config (${file}): ${describeIssues(r.error, 10)}`);
  return r.data;
}
