/**
 * Detection config replaced at run time, deterministically: a version takes effect at an *event
 * time* (`effectiveFrom`), not when a worker happens to read it. Every worker — and a replay given
 * the same versions — scores an event with the version in effect at the event's timestamp, so the
 * same stream and the same versions give the same alerts, each naming its `configVersion`.
 *
 * Only thresholds, weights and rules may change at run time. Sections that shape state kept in
 * memory or in Redis (market books, windows and buckets, campaign windows, state sizes) are fixed
 * for the life of a process: a version changing one is refused, naming the key.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { type DetectionConfig, mergeConfig, parseDetectionConfig } from './detection.js';

export interface ConfigVersion {
  /** Content hash of the full effective config (12 hex digits): the same config, the same version. */
  version: string;
  /** Event time (epoch ms) from which it applies; −∞ for the config a process starts with. */
  effectiveFrom: number;
  config: DetectionConfig;
}

/** A published version's identity (and its record's key on the config topic): `<version>@<effectiveFrom>`. */
export function versionKey(v: Pick<ConfigVersion, 'version' | 'effectiveFrom'>): string {
  return `${v.version}@${v.effectiveFrom}`;
}

/** Keys (paths, or whole sections) a version may change; everything else must equal the start-up config. */
export const REPLACEABLE_KEYS = [
  'fusion',
  'offMarket',
  'orderClimb',
  'fundingSell.minShare',
  'fundingSell.fullShare',
  'liveMarket.minPremium',
  'liveMarket.fullPremium',
  'size.quoteUsd',
  'size.minOrderUsd',
  'size.fromRatio',
  'size.fullRatio',
  'burst.minBaseline',
  'burst.fullRatio',
  'burst.fastGapMs',
  'burst.fastGapScore',
  'burst.requirePreviousDay',
  'newPair.newAccountWeight',
  'keyContext.newIpScore',
  'keyContext.dormantMs',
  'keyContext.dormantScore',
  'keyContext.oldKeyMs',
  'keyContext.oldKeyScore',
  'keyContext.minHistoryMs',
] as const;

/** JSON with object keys sorted at every level: a stable text for hashing. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function configVersionOf(cfg: DetectionConfig): string {
  return createHash('sha256').update(canonicalJson(cfg)).digest('hex').slice(0, 12);
}

/** The first key (dotted path) at which two values differ, if any. */
function firstDifference(a: unknown, b: unknown, at: string): string | undefined {
  const objects =
    a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a);
  if (!objects || Array.isArray(b)) return canonicalJson(a) === canonicalJson(b) ? undefined : at;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort()) {
    const path = at ? `${at}.${k}` : k;
    if (REPLACEABLE_KEYS.some((r) => path === r)) continue;
    const d = firstDifference(ra[k], rb[k], path);
    if (d) return d;
  }
  return undefined;
}

/** Throws, naming the key, when `next` changes something only a restart may change. */
export function checkReplaceable(base: DetectionConfig, next: DetectionConfig): void {
  const key = firstDifference(base, next, '');
  if (key !== undefined) {
    throw new ConfigError(
      `${key} cannot change at run time (it shapes state the workers keep); restart the workers with the new value instead. Changeable at run time: ${REPLACEABLE_KEYS.join(', ')}`,
    );
  }
}

/**
 * A config version as published (`keyguard config publish`) on the config topic and read by
 * `keyguard replay --config-versions`: overrides of the bundled defaults, and when they apply.
 */
export const configRecordSchema = z.strictObject({
  effectiveFrom: z.union([z.number().int().positive(), z.iso.datetime({ offset: true })]),
  /**
   * Any subset of config/detection.json's keys, merged onto the config the worker started with
   * (not onto earlier versions: each version stands alone, whatever order they are read in).
   */
  overrides: z.record(z.string(), z.unknown()),
  /** Free text for the people reading the topic: who changed what, and why. */
  comment: z.string().max(2000).optional(),
});
export type ConfigRecord = z.infer<typeof configRecordSchema>;

/** A record → a version on top of `base`, or a ConfigError naming the key that is wrong. */
export function versionFromRecord(raw: unknown, base: DetectionConfig): ConfigVersion {
  const r = configRecordSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigError(`config record: ${issue.path.join('.') || '(record)'}: ${issue.message}`);
  }
  const config = parseDetectionConfig(mergeConfig(base, r.data.overrides), 'config record');
  checkReplaceable(base, config);
  const effectiveFrom =
    typeof r.data.effectiveFrom === 'number' ? r.data.effectiveFrom : Date.parse(r.data.effectiveFrom);
  return { version: configVersionOf(config), effectiveFrom, config };
}

/** The versions in effect over event time: the start-up config, then each published version from its effectiveFrom. */
export class ConfigTimeline {
  private readonly versions: ConfigVersion[];

  constructor(readonly base: DetectionConfig) {
    this.versions = [
      { version: configVersionOf(base), effectiveFrom: Number.NEGATIVE_INFINITY, config: base },
    ];
  }

  /** Adds a version (checked against the base); false when it is already known (a redelivery). */
  add(v: ConfigVersion): boolean {
    if (this.versions.some((x) => versionKey(x) === versionKey(v))) return false;
    checkReplaceable(this.base, v.config);
    this.versions.push(v);
    // Ties on effectiveFrom: the larger version id wins, whatever order the versions arrived in.
    this.versions.sort((a, b) => a.effectiveFrom - b.effectiveFrom || (a.version < b.version ? -1 : 1));
    return true;
  }

  /** The version in effect at event time `t`. */
  at(t: number): ConfigVersion {
    const v = this.versions;
    for (let i = v.length - 1; i > 0; i--) if (v[i]!.effectiveFrom <= t) return v[i]!;
    return v[0]!;
  }

  /** Every version, by effectiveFrom (the start-up config first). */
  all(): readonly ConfigVersion[] {
    return this.versions;
  }

  /** The version with the latest effectiveFrom. */
  latest(): ConfigVersion {
    return this.versions[this.versions.length - 1]!;
  }

  get size(): number {
    return this.versions.length;
  }
}

/**
 * The versions of a JSONL file of config records (as published on the config topic; `keyguard
 * replay --config-versions`) on top of `base`. A bad line stops it, naming the line and the key.
 */
export function readConfigVersions(file: string, base: DetectionConfig): ConfigTimeline {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config versions ${file}: ${(err as Error).message}`);
  }
  const timeline = new ConfigTimeline(base);
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    try {
      timeline.add(versionFromRecord(JSON.parse(line), base));
    } catch (err) {
      throw new ConfigError(`${file}:${i + 1}: ${(err as Error).message}`);
    }
  }
  return timeline;
}
