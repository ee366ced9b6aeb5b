/**
 * key_context: what the key itself says about the event. A key trading from a client IP it has
 * never used (the attacker's server, not the owner's bot), a key dormant for weeks suddenly
 * trading, a key created long ago that keyguard has never seen trade. None of these is a theft on
 * its own (bots move servers, people come back): the fusion rules use this signal only to raise
 * what other detectors found, never as a revoke by itself.
 */
import type { DetectionConfig } from '../config/detection.js';
import type { AccountEvent, Signal } from '../events/schema.js';
import { ramp, round } from '../scoring/scale.js';
import { type AccountState, newClientIp } from '../state/account-state.js';

const DAY = 86_400_000;

/** `account`: the state after the event was folded in (its client IP and any waking noted). */
export function keyContext(
  event: AccountEvent,
  account: AccountState,
  cfg: DetectionConfig,
): Signal | undefined {
  const c = cfg.keyContext;
  const keyId = event.apiKeyId;
  if (!keyId) return undefined;
  const meta = account.km?.[keyId];
  if (!meta) return undefined;
  const at = event.timestamp;
  const evidence: Record<string, number | string | boolean> = {};
  const reasons: string[] = [];
  let score = 0;
  const ip = newClientIp(meta, at, c.windowMs);
  if (ip && meta.newIpAt !== undefined) {
    score = Math.max(score, c.newIpScore);
    evidence.clientIp = ip;
    evidence.newIpMinutesAgo = round((at - meta.newIpAt) / 60_000, 1);
    evidence.otherIpsKnown = (meta.ips?.length ?? 1) - 1;
    reasons.push(`client IP ${ip} never used by this key before`);
  }
  if (meta.wokeAt !== undefined && meta.idle !== undefined && at - meta.wokeAt <= c.windowMs) {
    const days = round(meta.idle / DAY, 1);
    const dormantDays = c.dormantMs / DAY;
    score = Math.max(score, c.dormantScore * (0.75 + 0.25 * ramp(days, dormantDays, 4 * dormantDays)));
    evidence.dormantDays = days;
    reasons.push(`key idle for ${days} days before trading again`);
  }
  // Created long ago, first seen trading recently, although keyguard knew the account (or the key)
  // long enough before to have seen it trade.
  const firstTrade = account.keys[keyId]?.f;
  const knownSince = Math.min(account.act.f, meta.k ?? Number.POSITIVE_INFINITY);
  if (
    firstTrade !== undefined &&
    meta.c !== undefined &&
    at - firstTrade <= c.windowMs &&
    firstTrade - meta.c >= c.oldKeyMs &&
    firstTrade - knownSince >= c.minHistoryMs
  ) {
    const age = round((firstTrade - meta.c) / DAY, 1);
    score = Math.max(score, c.oldKeyScore);
    evidence.keyAgeDays = age;
    reasons.push(`key created ${age} days ago, never seen trading before`);
  }
  if (score === 0) return undefined;
  return {
    detector: 'key_context',
    score: round(score),
    evidence: { summary: reasons.join('; '), ...evidence },
  };
}
