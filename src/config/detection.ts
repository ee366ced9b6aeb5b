/**
 * Detection configuration: thresholds, windows and score bands as data (config/detection.json),
 * validated once at start-up and passed down. Types derive from the schema.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { describeIssues } from '../events/decode.js';
import { detectorNames, recommendationSchema, severitySchema } from '../events/schema.js';
import { readJsonConfig } from './json-file.js';

const ms = z.number().int().positive();
const unit = z.number().min(0).max(1);
const detector = z.enum(detectorNames);

export const detectionConfigSchema = z
  .object({
    burst: z.object({
      windowMs: ms,
      bucketMs: ms,
      baselineDays: z.number().int().min(1).max(60),
      minBaseline: z.number().positive(),
      fullRatio: z.number().gt(1),
      newPairFullOrders: z.number().int().min(2),
      fastGapMs: ms,
      /** The burst score of two orders into a new pair at most `fastGapMs` apart (a script, not a person clicking). */
      fastGapScore: unit,
      requirePreviousDay: z.boolean(),
    }),
    newPair: z.object({
      windowMs: ms,
      maxSymbolsTracked: z.number().int().min(10),
      newAccountWeight: unit,
      unknownMarketScore: unit,
    }),
    liquidity: z.object({
      liquidQuoteVolume24h: z.record(z.string(), z.number().positive()).refine((m) => 'default' in m, {
        message: 'needs a "default" entry',
      }),
      illiquidRatio: z.number().gt(1),
      tightSpread: z.number().nonnegative(),
      wideSpread: z.number().positive(),
      tickerMaxAgeMs: ms,
    }),
    reference: z.object({
      bucketMs: ms,
      lagMs: z.number().int().nonnegative(),
      lookbackMs: ms,
      maxAgeMs: ms,
      minPrints: z.number().int().min(1),
      anomalyDeviation: z.number().positive(),
      printSpikeFactor: z.number().gt(1),
      reanchorMs: ms,
      maxBuckets: z.number().int().min(10),
      historyMs: ms,
      /** Other venues quoting the same symbol: the median of their fresh references. */
      crossVenue: z.object({ enabled: z.boolean(), maxAgeMs: ms }),
    }),
    /** key_context: a key's new client IP, dormancy, age; raises other signals, never revokes alone. */
    keyContext: z.object({
      /** How long after the new IP / the waking the signal holds. */
      windowMs: ms,
      newIpScore: unit,
      dormantMs: ms,
      dormantScore: unit,
      oldKeyMs: ms,
      oldKeyScore: unit,
      /** A key's first trade is only "old key, never seen trading" if the account is known this long. */
      minHistoryMs: ms,
    }),
    offMarket: z.object({
      minDeviation: z.number().nonnegative(),
      fullDeviation: z.number().positive(),
      extremeDeviation: z.number().positive(),
      volatilityMultiplier: z.number().nonnegative(),
      maxTolerance: z.number().positive(),
      livePremium: z.number().positive(),
    }),
    /** above_live_market: a buy above what other accounts paid just before it (a sell below). */
    liveMarket: z.object({
      windowMs: ms,
      /** With fewer prints in the window, the latest this many within maxAgeMs. */
      minPrints: z.number().int().min(1),
      /** At most the latest this many prints: a flood of prints in one pair must not make every event's reading slow. */
      maxPrints: z.number().int().min(10).max(100_000),
      maxAgeMs: ms,
      /** The "high" of the live market: this quantile of the others' prices (the low: 1 − it). */
      quantile: z.number().min(0.5).max(1),
      minPremium: z.number().nonnegative(),
      fullPremium: z.number().positive(),
      /**
       * A buy in a pair new to the account above a quiet market (fewer than `minPrints` in
       * `windowMs`: nobody else is buying) stays evidence on the account's later orders in the pair
       * for this long — the victims' own fills at the attacker's price soon become "what others
       * paid". 0: judged on each order's moment only.
       */
      quietHoldMs: z.number().int().nonnegative(),
    }),
    /** unusual_size: what the account spends in a pair new to it against its own largest orders. */
    size: z.object({
      /** Rough value of one unit of each quote currency in USD (a common unit for the baseline). */
      quoteUsd: z.record(z.string(), z.number().positive()),
      /** Orders smaller than this do not set the baseline (a floor for tiny accounts). */
      minOrderUsd: z.number().nonnegative(),
      baselineDays: z.number().int().min(1),
      fromRatio: z.number().positive(),
      fullRatio: z.number().positive(),
    }),
    /** order_climb: how far one buy order's fills climbed from its cheapest to its dearest (a ratio − 1). */
    orderClimb: z.object({ minClimb: z.number().positive(), fullClimb: z.number().positive() }),
    /**
     * funding_sell: a buy in a pair new to the account funded by its sells at the market into that
     * pair's quote currency minutes before (the case's "swap"): what they fetched against what it
     * spent there, from `minShare` (0) to `fullShare` (1).
     */
    fundingSell: z.object({
      /** Sells each within this of the last make one run; the run must reach this close to the first buy. */
      windowMs: z.number().int().positive(),
      minShare: z.number().nonnegative(),
      fullShare: z.number().positive(),
    }),
    fusion: z.object({
      weights: z.partialRecord(detector, unit),
      /** The weight of a detector `weights` does not name. */
      defaultWeight: unit,
      reportMinScore: unit,
      rules: z.array(
        z.object({
          recommendation: recommendationSchema.exclude(['none']),
          when: z.partialRecord(detector, unit).refine((w) => Object.keys(w).length > 0, 'empty condition'),
          /** And at least `count` of these (independent pieces of evidence, each at its minimum). */
          atLeast: z
            .object({
              count: z.number().int().min(1),
              of: z.partialRecord(detector, unit),
            })
            .refine((a) => Object.keys(a.of).length >= a.count, 'count exceeds the detectors listed')
            .optional(),
          /** Only above a quiet market (fewer than `liveMarket.minPrints` others' prints in `windowMs`): no crowd to follow. */
          quietMarket: z.boolean().optional(),
        }),
      ),
      severityBands: z.array(z.object({ minScore: unit, severity: severitySchema })).min(1),
      cooldownMs: z.number().int().nonnegative(),
      /** A review with the same pattern (detectors ≥ 0.5) as one within this window is not raised again unless its score grows by reviewGrowth. */
      reviewWindowMs: z.number().int().nonnegative(),
      reviewGrowth: z.number().nonnegative(),
      revokeNeedsApiKey: z.boolean(),
      /** An order without an API key: what would be a review raises nothing (its revoke evidence makes a review). */
      reviewNeedsApiKey: z.boolean(),
      /** A revoke is never reported with a lower score than this, whatever the weights say. */
      revokeMinScore: unit,
    }),
    /**
     * Campaign fan-in and leak cohorts: first buys of illiquid pairs, re-keyed by symbol, and key
     * anomalies, re-keyed by key label, aggregated across every worker's accounts.
     */
    campaign: z.object({
      enabled: z.boolean(),
      /** A buy is a "first buy" when the pair is new to the account and at least this illiquid. */
      minIlliquidity: unit,
      /** Accounts buying within this much event time of each other can form one campaign. */
      windowMs: ms,
      /** Observations kept per symbol (the oldest go first). */
      maxObservations: z.number().int().min(10).max(5000),
      baselineDays: z.number().int().min(1).max(60),
      counterparty: z.object({
        /** Distinct buyers that bought mostly (`minShare` of their amount) from one counterparty. */
        minAccounts: z.number().int().min(2),
        /**
         * Or this many of them revoked by their own detectors, in a pair that is not a crowd (most
         * first-time buyers evidenced): two victims caught alone, whose money went to one seller.
         */
        minRevokedAccounts: z.number().int().min(2),
        /**
         * Or this many with evidence of their own that no interleaving changes (revoked by their own
         * detectors, or several orders `campaign.minLivePremium` above the others' prints or
         * `campaign.minSizeRatio` times their largest order), in a pair that is not a crowd, when
         * they are also `ownPair.membersShare` of the window's first-time buyers: a pair the
         * attackers pump alone with two careful victims, each spending far beyond its habit, whose
         * money went to one seller.
         */
        minAccountsAlone: z.number().int().min(2),
        /**
         * Or one revoked by its own detectors whose fills from the counterparty, in the premium part
         * of its orders, were ≥ `minLivePremium` above a quiet market (fewer than
         * `liveMarket.minPrints` other accounts' prints in the last `liveMarket.windowMs`; judged by
         * the worker at the fill, so the same in every replay): an attacker account that drained one
         * victim in a pair it pumps alone. `false`: two revoked victims at least.
         */
        oneRevokedAboveQuiet: z.boolean(),
        minShare: unit,
        /** Another counterparty of a campaign's members is frozen when it sold to ≥ 2 of them and this share of its first-buy sales went to members. */
        minSoldToMembers: unit,
        /** …and sold to at least this many members. */
        minMembersSold: z.number().int().min(1),
        /**
         * A frozen counterparty's other driven first-time buyers join its campaign while the
         * members are at least `membersShare` of the window's buyers (a pair the attackers pump
         * alone, never a public pump's crowd) and they bought `boughtShare` of what they bought
         * from the campaign's frozen counterparties (a victim: all but the cheap asks it swept).
         * There, a seller of the premium to `minMembersSold` members, `minPremium` above the live
         * market, is frozen (the attackers split the victims between their accounts; a pair's maker
         * sells at the market).
         */
        ownPair: z.object({ membersShare: unit, boughtShare: unit, minMembersSold: z.number().int().min(1) }),
        /** Of the counterparty's first-time buyers in the window, the share trading through API keys. */
        minKeyedShare: unit,
        /** Fan-in must exceed this many times the counterparty's own peak on previous days. */
        baselineRatio: z.number().min(1),
      }),
      /**
       * An order's fills count at its top once none has arrived for this long (event time), or
       * sooner when they are `minPremium` above the live market: until then its top is unknown (a
       * victim's order lifts a cheap ask resting near the market before the attacker's).
       */
      orderSettleMs: ms,
      /** Distinct accounts whose keys all started using the same client IP. */
      sharedNewIp: z.object({
        minAccounts: z.number().int().min(2),
        /**
         * Or this many when one of them was revoked by its own detectors: a victim caught alone
         * and another key the same new machine drove into the pair.
         */
        minAccountsWithRevoked: z.number().int().min(2),
      }),
      /** Distinct accounts whose keys share a label, making up `minShare` of the keyed first buyers. */
      label: z.object({
        minAccounts: z.number().int().min(2),
        /** Or this many of them revoked by their own detectors, in a pair that is not a crowd. */
        minRevokedAccounts: z.number().int().min(2),
        minShare: unit,
      }),
      /** A buy counts only this far above the reference price (the campaign pays the attacker). */
      minPremium: z.number(),
      /** A buyer counts as evidenced (a member of a counterparty or label campaign) when driven and paying this much over the live market, or from a new IP, or revoked on its own. */
      minLivePremium: z.number().nonnegative(),
      /** …or spending this many times its usual largest order in the pair. */
      minSizeRatio: z.number().positive(),
      /**
       * …or, where fills name no counterparty (a platform's view), having bought at least this share
       * of its amount above a quiet market (the observation's `quietMarket`) and `minPremium` above
       * the few prints there: nobody else buying the pair, the victims of a pump the attackers run alone.
       */
      quietShare: unit,
      /** A buyer is driven (a script, not a click) with this many orders into the new pair (or see `drivenNewIpSizeRatio`). */
      drivenMinOrders: z.number().int().min(1),
      /**
       * A buyer in one order is driven when its key trades from a new IP and it bought at least this
       * many times its usual largest order (unknown for an account with no previous day: enough).
       */
      drivenNewIpSizeRatio: z.number().nonnegative(),
      /**
       * Where most of the window's first-time buyers have no evidence (a public pump's crowd: fewer
       * than `counterparty.ownPair.membersShare` of them evidenced), a key's new IP is evidence only
       * beside a spend of this many times the usual largest order.
       */
      crowdNewIpSizeRatio: z.number().nonnegative(),
      /**
       * In such a crowd, against a habit known from fewer orders than this on the days before, a
       * spend counts only from `thinHabitSizeRatio` times the usual largest order: a pump buyer's
       * few orders of its usual size add up to many times the one order keyguard saw.
       */
      crowdMinHabitOrders: z.number().int().nonnegative(),
      thinHabitSizeRatio: z.number().nonnegative(),
      /** Score of a campaign alert (freeze or revoke). */
      alertScore: unit,
      cohort: z.object({
        windowMs: ms,
        /** Distinct keys of one label with alerts (at least `minRecommendation`) within the window. */
        minKeys: z.number().int().min(2),
        /** The alerts that count: `revoke_key` (the attack's pattern), or `review` too (noisier). */
        minRecommendation: z.enum(['review', 'revoke_key']),
        baselineRatio: z.number().min(1),
        /** A label keyguard first heard of less than this long ago has no baseline yet: it needs twice `minKeys`. */
        minHistoryMs: ms,
        /** Accounts of one label revoked in one pair within the window: the label's keys drained together (a campaign on them). */
        drainKeys: z.number().int().min(2),
        /** A pair drained within this long of another one drained: the platform leaked (a breach whatever the baseline). */
        repeatWithinMs: ms,
        /** What every anomalous key of a breached cohort gets besides the one platform alert listing them (`none`: nothing). */
        recommendation: z.enum(['none', 'review', 'revoke_key']),
        /** Score of a cohort alert. */
        alertScore: unit,
      }),
    }),
    /** Input sanity: how far ahead of the clock an event may be dated (else dead-lettered). */
    events: z.object({ maxFutureSkewMs: ms }),
    state: z.object({
      ttlSeconds: z.number().int().positive(),
      recentOrderIds: z.number().int().min(1).max(256),
      evidenceEventIds: z.number().int().min(1).max(100),
    }),
  })
  .superRefine((c, ctx) => {
    c.fusion.rules.forEach((rule, i) => {
      const only = Object.keys(rule.when);
      if (rule.recommendation !== 'review' && only.length === 1 && only[0] === 'key_context') {
        ctx.addIssue({
          code: 'custom',
          path: ['fusion', 'rules', i],
          message: 'key_context raises other signals; it cannot revoke or freeze on its own',
        });
      }
    });
    if (c.size.fullRatio <= c.size.fromRatio) {
      ctx.addIssue({ code: 'custom', path: ['size', 'fullRatio'], message: 'must exceed fromRatio' });
    }
    if (c.fundingSell.fullShare <= c.fundingSell.minShare) {
      ctx.addIssue({ code: 'custom', path: ['fundingSell', 'fullShare'], message: 'must exceed minShare' });
    }
    if (c.orderClimb.fullClimb <= c.orderClimb.minClimb) {
      ctx.addIssue({ code: 'custom', path: ['orderClimb', 'fullClimb'], message: 'must exceed minClimb' });
    }
    if (c.liveMarket.fullPremium <= c.liveMarket.minPremium) {
      ctx.addIssue({
        code: 'custom',
        path: ['liveMarket', 'fullPremium'],
        message: 'must exceed minPremium',
      });
    }
    if (c.burst.windowMs % c.burst.bucketMs !== 0) {
      ctx.addIssue({ code: 'custom', path: ['burst', 'bucketMs'], message: 'must divide burst.windowMs' });
    }
    if (c.reference.lagMs % c.reference.bucketMs !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['reference', 'lagMs'],
        message: 'must be a multiple of reference.bucketMs',
      });
    }
    if (c.offMarket.fullDeviation <= c.offMarket.minDeviation) {
      ctx.addIssue({
        code: 'custom',
        path: ['offMarket', 'fullDeviation'],
        message: 'must exceed minDeviation',
      });
    }
    if (c.offMarket.extremeDeviation <= c.offMarket.fullDeviation) {
      ctx.addIssue({
        code: 'custom',
        path: ['offMarket', 'extremeDeviation'],
        message: 'must exceed fullDeviation',
      });
    }
  });

export type DetectionConfig = z.infer<typeof detectionConfigSchema>;

const defaultConfigPath = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../config/detection.json',
);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merges an override onto the defaults; arrays and scalars replace. */
export function mergeConfig(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = mergeConfig(base[k], v);
  return out;
}

/** The first key of `value` the schema does not know (zod drops unknown keys, so a typo would go unnoticed). */
function unknownKey(schema: z.ZodType, value: unknown, at: string): string | undefined {
  const def = (schema as unknown as { def: { type: string; innerType?: z.ZodType; element?: z.ZodType } })
    .def;
  if ((def.type === 'optional' || def.type === 'default') && def.innerType)
    return unknownKey(def.innerType, value, at);
  if (def.type === 'array' && def.element && Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const k = unknownKey(def.element, item, `${at}.${i}`);
      if (k) return k;
    }
  }
  if (def.type !== 'object' || !isPlainObject(value)) return undefined;
  const shape = (schema as z.ZodObject).shape;
  for (const [k, v] of Object.entries(value)) {
    const path = at ? `${at}.${k}` : k;
    const field = shape[k];
    if (!field) return path;
    const inner = unknownKey(field, v, path);
    if (inner) return inner;
  }
  return undefined;
}

export function parseDetectionConfig(raw: unknown, origin: string): DetectionConfig {
  const { $comment: _ignored, ...rest } = isPlainObject(raw) ? raw : { value: raw };
  const unknown = unknownKey(detectionConfigSchema, rest, '');
  if (unknown) throw new ConfigError(`invalid detection config (${origin}): ${unknown}: unknown key`);
  const parsed = detectionConfigSchema.safeParse(rest);
  if (!parsed.success) {
    throw new ConfigError(`invalid detection config (${origin}): ${describeIssues(parsed.error, 10)}`);
  }
  return parsed.data;
}

/** The bundled defaults, optionally overlaid by a JSON file (any subset of the keys). */
export function loadDetectionConfig(overrideFile?: string): DetectionConfig {
  const defaults = readJsonConfig(defaultConfigPath, 'detection config');
  if (!overrideFile) return parseDetectionConfig(defaults, defaultConfigPath);
  return parseDetectionConfig(
    mergeConfig(defaults, readJsonConfig(overrideFile, 'detection config')),
    `${defaultConfigPath} + ${overrideFile}`,
  );
}
