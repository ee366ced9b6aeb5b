/**
 * Webhook dispatcher configuration (a JSON file, `KEYGUARD_WEBHOOKS_CONFIG`): the endpoints with
 * their filters and secrets, the retry schedule, the revocation circuit breaker and dry-run.
 * Validated once at start-up; secrets are resolved from the environment here and nowhere else.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { readJsonConfig } from '../config/json-file.js';
import { ConfigError } from '../errors.js';
import { describeIssues } from '../events/decode.js';
import { recommendationSchema, severitySchema } from '../events/schema.js';

const ms = z.number().int().positive();

/** Standard Webhooks secrets: `whsec_` + base64 of 24–64 random bytes. */
const secretSchema = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'expected whsec_<base64>')
  .refine((s) => {
    const n = Buffer.from(s.slice('whsec_'.length), 'base64').length;
    return n >= 24 && n <= 64;
  }, 'the key must decode to 24–64 bytes');

const endpointSchema = z
  .object({
    id: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9_.-]{0,62}$/,
        'lower-case letters, digits, "_", "." and "-" (it is a metric label)',
      ),
    url: z.url(),
    /** Secrets inline (tests, local set-ups). Prefer `secretsEnv`. Several during a rotation. */
    secrets: z.array(secretSchema).min(1).optional(),
    /** The environment variable holding the secrets, comma-separated (newest first during a rotation). */
    secretsEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/)
      .optional(),
    filter: z
      .object({
        exchanges: z.array(z.string().min(1)).min(1).optional(),
        recommendations: z
          .array(recommendationSchema)
          .min(1)
          .default(['review', 'revoke_key', 'freeze_account']),
        minSeverity: severitySchema.default('low'),
      })
      .default({ recommendations: ['review', 'revoke_key', 'freeze_account'], minSeverity: 'low' }),
    timeoutMs: ms.default(5000),
    /** Requests in flight to this endpoint at once; more wait, and past `maxQueued` they are parked on the retry topic. */
    maxConcurrency: z.number().int().min(1).max(256).default(8),
    maxQueued: z.number().int().min(1).default(1000),
    dryRun: z.boolean().optional(),
  })
  .refine((e) => e.secrets || e.secretsEnv, { message: 'needs "secretsEnv" (or "secrets")' });

export const webhookConfigSchema = z
  .object({
    endpoints: z.array(endpointSchema).min(1),
    /** Hosts that may be called over plain http (local receivers). Everything else must be https. */
    allowHttpHosts: z.array(z.string().min(1)).default([]),
    retry: z
      .object({
        initialDelayMs: ms.default(1000),
        maxDelayMs: ms.default(300_000),
        maxAttempts: z.number().int().min(1).max(100).default(20),
        giveUpAfterMs: ms.default(86_400_000),
        /** A receiver's Retry-After is honoured up to this. */
        maxRetryAfterMs: ms.default(3_600_000),
      })
      .default({
        initialDelayMs: 1000,
        maxDelayMs: 300_000,
        maxAttempts: 20,
        giveUpAfterMs: 86_400_000,
        maxRetryAfterMs: 3_600_000,
      }),
    breaker: z
      .object({
        /** Trips when more than `maxActions` automatic-action recommendations fall within `windowMs` (event time). */
        windowMs: ms.default(300_000),
        maxActions: z.number().int().min(1).default(50),
        /** Stays open this long (event time) after the last recommendation over the limit. */
        cooldownMs: ms.default(900_000),
        recommendations: z.array(recommendationSchema).min(1).default(['revoke_key', 'freeze_account']),
      })
      .default({
        windowMs: 300_000,
        maxActions: 50,
        cooldownMs: 900_000,
        recommendations: ['revoke_key', 'freeze_account'],
      }),
    dryRun: z.boolean().default(false),
    /** Deliveries (first attempts plus waiting retries) held per input partition before it is paused. */
    maxPendingPerPartition: z.number().int().min(1).default(5000),
  })
  .superRefine((cfg, ctx) => {
    const ids = new Set<string>();
    cfg.endpoints.forEach((e, i) => {
      if (ids.has(e.id))
        ctx.addIssue({ code: 'custom', path: ['endpoints', i, 'id'], message: 'duplicate id' });
      ids.add(e.id);
      const url = new URL(e.url);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (url.protocol === 'http:' && !cfg.allowHttpHosts.includes(host)) {
        ctx.addIssue({
          code: 'custom',
          path: ['endpoints', i, 'url'],
          message: `plain http to ${host} is not allowed (https, or list the host in allowHttpHosts)`,
        });
      } else if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        ctx.addIssue({
          code: 'custom',
          path: ['endpoints', i, 'url'],
          message: 'only https (or allowed http) URLs',
        });
      }
      if (url.username || url.password) {
        ctx.addIssue({
          code: 'custom',
          path: ['endpoints', i, 'url'],
          message: 'credentials in the URL are not allowed',
        });
      }
    });
    cfg.allowHttpHosts.forEach((h, i) => {
      if (!isLocalHost(h)) {
        ctx.addIssue({
          code: 'custom',
          path: ['allowHttpHosts', i],
          message: `${h} is not a local address (loopback or private network)`,
        });
      }
    });
  });

/** Loopback, private (RFC 1918, unique-local) addresses, and `localhost`. */
export function isLocalHost(host: string): boolean {
  if (host === 'localhost') return true;
  const v = isIP(host);
  if (v === 4) {
    const [a, b] = host.split('.').map(Number) as [number, number];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  if (v === 6) return host === '::1' || /^f[cd]/i.test(host);
  return false;
}

export type WebhookConfigFile = z.infer<typeof webhookConfigSchema>;
export type EndpointFileConfig = WebhookConfigFile['endpoints'][number];

/** An endpoint ready to call: secrets resolved. */
export interface Endpoint extends Omit<EndpointFileConfig, 'secrets' | 'secretsEnv'> {
  secrets: string[];
  dryRun: boolean;
}

export interface WebhookConfig extends Omit<WebhookConfigFile, 'endpoints'> {
  endpoints: Endpoint[];
}

export function parseWebhookConfig(raw: unknown, origin: string, env: NodeJS.ProcessEnv): WebhookConfig {
  const parsed = webhookConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`invalid webhooks config (${origin}): ${describeIssues(parsed.error, 10)}`);
  }
  const cfg = parsed.data;
  const endpoints = cfg.endpoints.map(({ secrets, secretsEnv, ...e }) => {
    let resolved = secrets ?? [];
    if (secretsEnv) {
      const value = env[secretsEnv];
      if (!value) throw new ConfigError(`webhook endpoint ${e.id}: ${secretsEnv} is not set`);
      const fromEnv = value.split(',').map((s) => s.trim());
      fromEnv.forEach((s, i) => {
        // Never echo the value: it is a secret.
        if (!secretSchema.safeParse(s).success)
          throw new ConfigError(
            `webhook endpoint ${e.id}: secret #${i + 1} in ${secretsEnv} is not whsec_<base64 of 24–64 bytes>`,
          );
      });
      resolved = [...fromEnv, ...resolved];
    }
    return { ...e, secrets: resolved, dryRun: e.dryRun ?? cfg.dryRun };
  });
  return { ...cfg, endpoints };
}

export function loadWebhookConfig(file: string, env: NodeJS.ProcessEnv, forceDryRun = false): WebhookConfig {
  const cfg = parseWebhookConfig(readJsonConfig(file, 'webhooks config'), file, env);
  if (!forceDryRun) return cfg;
  return { ...cfg, dryRun: true, endpoints: cfg.endpoints.map((e) => ({ ...e, dryRun: true })) };
}
