/**
 * Scores alerts against a scenario's ground truth: recall per attack strength and setting, value a
 * revoke would have prevented, fills before the first revoke; per benign behaviour the share of
 * accounts revoked and the share of account-days with a review after the first day; counterparty
 * accounts frozen; platform (leak-cohort) alerts on the leaked label and on others.
 */
import type { Alert } from '../events/schema.js';
import { median } from '../market/reference-price.js';
import type { AccountTruth, AttackSetting, AttackStrength, BenignKind } from './scenario.js';

/** The platform revokes the key this long after the alert is published. */
export const REVOKE_DELAY_MS = 1_000;
/** A victim's revoke counts as catching the attack from this long before its first malicious order. */
export const ATTACK_LEAD_MS = 10 * 60_000;
const DAY = 86_400_000;

export interface VictimOutcome {
  accountId: string;
  strength: AttackStrength;
  setting: AttackSetting;
  revokedAt?: number;
  fillsBeforeRevoke: number;
  secondsToRevoke?: number;
  valueMoved: number;
  valuePrevented: number;
}

export interface BenignRow {
  accounts: number;
  falseRevokes: number;
  /** Accounts with any review. */
  reviews: number;
  /** Account-days after the first day, and those with at least one review. */
  days: number;
  reviewedDays: number;
  /** Review alerts after the first day. */
  reviewAlerts: number;
}

function emptyRow(): BenignRow {
  return { accounts: 0, falseRevokes: 0, reviews: 0, days: 0, reviewedDays: 0, reviewAlerts: 0 };
}

export interface Evaluation {
  victims: VictimOutcome[];
  /** Victims whose key was revoked before the attack (on benign behaviour): a false revoke too. */
  revokedBeforeAttack: number;
  benignByKind: Record<string, BenignRow>;
  /** Attacker (counterparty) accounts in the scenario, how many got `freeze_account`, and other accounts frozen. */
  attackers: number;
  attackersFrozen: number;
  othersFrozen: number;
  /** Platform (leak-cohort) alerts after the first day: on the leaked label, on any other. */
  platformOnLeaked: number;
  platformOnOthers: number;
  /**
   * Scenarios whose leaked label has a second campaign: from its start to the first platform alert
   * on that label after the first day (negative when the first campaign raised it; absent: none).
   */
  secondCampaign?: { alertDelayMs?: number };
}

type DecisionLike = Pick<Alert, 'accountId' | 'timestamp' | 'recommendation'> &
  Partial<Pick<Alert, 'scope' | 'cohort'>>;

/** What a stream of alerts decided: revoke times per account (sorted), reviews, freezes, platform alerts. */
export interface Decisions {
  first: Map<string, number[]>;
  reviews: Set<string>;
  frozen: Set<string>;
  /** Review times per account. */
  reviewTimes: Map<string, number[]>;
  platform: Array<{ label: string; timestamp: number }>;
}

export function firstRevokes(alerts: Iterable<DecisionLike>): Decisions {
  const first = new Map<string, number[]>();
  const reviews = new Set<string>();
  const frozen = new Set<string>();
  const reviewTimes = new Map<string, number[]>();
  const platform: Decisions['platform'] = [];
  for (const a of alerts) {
    if (a.scope === 'platform') {
      platform.push({ label: a.cohort ?? '', timestamp: a.timestamp });
      continue;
    }
    if (a.recommendation === 'review') {
      reviews.add(a.accountId);
      const list = reviewTimes.get(a.accountId) ?? [];
      list.push(a.timestamp);
      reviewTimes.set(a.accountId, list);
    }
    if (a.recommendation === 'freeze_account') frozen.add(a.accountId);
    if (a.recommendation !== 'revoke_key' && a.recommendation !== 'freeze_account') continue;
    const list = first.get(a.accountId) ?? [];
    list.push(a.timestamp);
    first.set(a.accountId, list);
  }
  for (const list of first.values()) list.sort((x, y) => x - y);
  return { first, reviews, frozen, reviewTimes, platform };
}

export interface ScenarioFrame {
  /** Start and end of the stream (days are counted from `from`). */
  from: number;
  to: number;
  attackers?: readonly string[];
  leakedLabel?: string;
  /** When each of the leaked label's campaigns started, oldest first. */
  campaignStarts?: readonly number[];
}

export function evaluate(
  truth: Record<string, AccountTruth>,
  decisions: Decisions,
  frame: ScenarioFrame,
): Evaluation {
  const { first: revokes, reviews, frozen, reviewTimes } = decisions;
  const attackers = frame.attackers ?? [];
  const afterFirstDay = frame.from + DAY;
  const daysAfterFirst = Math.max(0, Math.ceil((frame.to - afterFirstDay) / DAY));
  const victims: VictimOutcome[] = [];
  const benignByKind: Evaluation['benignByKind'] = {};
  let revokedBeforeAttack = 0;
  for (const [accountId, t] of Object.entries(truth)) {
    const times = revokes.get(accountId) ?? [];
    if (t.kind === 'victim') {
      const from = t.attackStart! - ATTACK_LEAD_MS;
      if (times.some((x) => x < from)) revokedBeforeAttack++;
      const revokedAt = times.find((x) => x >= from);
      const fills = t.maliciousFills ?? [];
      const valueMoved = fills.reduce((s, f) => s + Math.max(0, f.valueMoved), 0);
      const effective = revokedAt === undefined ? Number.POSITIVE_INFINITY : revokedAt + REVOKE_DELAY_MS;
      const valuePrevented = fills
        .filter((f) => f.timestamp > effective)
        .reduce((s, f) => s + Math.max(0, f.valueMoved), 0);
      victims.push({
        accountId,
        strength: t.strength!,
        setting: t.setting ?? 'public_pump',
        ...(revokedAt !== undefined
          ? { revokedAt, secondsToRevoke: (revokedAt - t.attackStart!) / 1000 }
          : {}),
        fillsBeforeRevoke: fills.filter((f) => f.timestamp <= (revokedAt ?? Number.POSITIVE_INFINITY)).length,
        valueMoved,
        valuePrevented,
      });
    } else {
      const row = (benignByKind[t.kind] ??= emptyRow());
      row.accounts++;
      row.days += daysAfterFirst;
      if (times.length > 0) row.falseRevokes++;
      if (reviews.has(accountId)) row.reviews++;
      const later = (reviewTimes.get(accountId) ?? []).filter((x) => x >= afterFirstDay);
      row.reviewAlerts += later.length;
      row.reviewedDays += new Set(later.map((x) => Math.floor((x - frame.from) / DAY))).size;
    }
  }
  const attackersFrozen = attackers.filter((a) => frozen.has(a)).length;
  const laterPlatform = decisions.platform.filter((p) => p.timestamp >= afterFirstDay);
  const onLeaked = laterPlatform.filter((p) => p.label === frame.leakedLabel);
  const second = frame.campaignStarts?.[1];
  const firstOnLeaked = Math.min(...onLeaked.map((p) => p.timestamp));
  return {
    victims,
    benignByKind,
    revokedBeforeAttack,
    attackers: attackers.length,
    attackersFrozen,
    othersFrozen: frozen.size - attackersFrozen,
    platformOnLeaked: onLeaked.length,
    platformOnOthers: laterPlatform.length - onLeaked.length,
    ...(second !== undefined
      ? { secondCampaign: onLeaked.length ? { alertDelayMs: firstOnLeaked - second } : {} }
      : {}),
  };
}

export interface AttackRow {
  victims: number;
  revoked: number;
  recall: number;
  medianFillsBefore?: number;
  medianSeconds?: number;
  prevented: number;
}

export interface EvaluationTable {
  /** By strength, and by strength and setting ("medium/quiet_pair"). */
  byStrength: Record<string, AttackRow>;
  preventedShare: number;
  /** Median fills before the revoke, over revoked victims. */
  medianFillsBefore?: number;
  benign: Record<string, BenignRow & { rate: number; reviewedDayShare: number }>;
  falseRevokeRate: number;
  /** Share of benign account-days (after the first day) with a review; review alerts per 1,000 accounts a day. */
  reviewedDayShare: number;
  reviewsPerThousandPerDay: number;
  benignAccounts: number;
  /** The counts over every benign behaviour that the rates above are read from. */
  benignAll: {
    accounts: number;
    falseRevokes: number;
    days: number;
    reviewedDays: number;
    reviewAlerts: number;
  };
  victimsRevokedBeforeAttack: number;
  attackers: number;
  attackersFrozen: number;
  othersFrozen: number;
  platformOnLeaked: number;
  platformOnOthers: number;
  /** Scenarios with a second campaign on the leaked label, and those with a platform alert on it within 1 h of that campaign's start (or before). */
  secondCampaigns: number;
  platformInTime: number;
}

/** A leak is reported in time when the platform alert comes within an hour of the label's second campaign. */
export const PLATFORM_ALERT_DEADLINE_MS = 3_600_000;

function attackRow(vs: readonly VictimOutcome[]): AttackRow {
  const revoked = vs.filter((v) => v.revokedAt !== undefined);
  const moved = vs.reduce((s, v) => s + v.valueMoved, 0);
  return {
    victims: vs.length,
    revoked: revoked.length,
    recall: vs.length ? revoked.length / vs.length : 0,
    ...(revoked.length
      ? {
          medianFillsBefore: median(revoked.map((v) => v.fillsBeforeRevoke)),
          medianSeconds: median(revoked.map((v) => v.secondsToRevoke!)),
        }
      : {}),
    prevented: moved > 0 ? vs.reduce((s, v) => s + v.valuePrevented, 0) / moved : 0,
  };
}

export function summarize(evals: readonly Evaluation[]): EvaluationTable {
  const victims = evals.flatMap((e) => e.victims);
  const byStrength: EvaluationTable['byStrength'] = {};
  for (const strength of ['strong', 'medium', 'careful'] as const) {
    byStrength[strength] = attackRow(victims.filter((v) => v.strength === strength));
    for (const setting of ['public_pump', 'quiet_pair'] as const) {
      const vs = victims.filter((v) => v.strength === strength && v.setting === setting);
      if (vs.length > 0) byStrength[`${strength}/${setting}`] = attackRow(vs);
    }
  }
  const moved = victims.reduce((s, v) => s + v.valueMoved, 0);
  const benign: EvaluationTable['benign'] = {};
  const all = { accounts: 0, falseRevokes: 0, days: 0, reviewedDays: 0, reviewAlerts: 0 };
  for (const e of evals) {
    for (const [kind, row] of Object.entries(e.benignByKind)) {
      const b = (benign[kind] ??= { ...emptyRow(), rate: 0, reviewedDayShare: 0 });
      for (const k of [
        'accounts',
        'falseRevokes',
        'reviews',
        'days',
        'reviewedDays',
        'reviewAlerts',
      ] as const) {
        b[k] += row[k];
        if (k !== 'reviews') all[k] += row[k];
      }
    }
  }
  for (const b of Object.values(benign)) {
    b.rate = b.accounts ? b.falseRevokes / b.accounts : 0;
    b.reviewedDayShare = b.days ? b.reviewedDays / b.days : 0;
  }
  const revoked = victims.filter((v) => v.revokedAt !== undefined);
  return {
    byStrength,
    preventedShare: moved > 0 ? victims.reduce((s, v) => s + v.valuePrevented, 0) / moved : 0,
    ...(revoked.length ? { medianFillsBefore: median(revoked.map((v) => v.fillsBeforeRevoke)) } : {}),
    benign,
    falseRevokeRate: all.accounts ? all.falseRevokes / all.accounts : 0,
    reviewedDayShare: all.days ? all.reviewedDays / all.days : 0,
    reviewsPerThousandPerDay: all.days ? (1000 * all.reviewAlerts) / all.days : 0,
    benignAccounts: all.accounts,
    benignAll: all,
    victimsRevokedBeforeAttack: evals.reduce((s, e) => s + e.revokedBeforeAttack, 0),
    attackers: evals.reduce((s, e) => s + e.attackers, 0),
    attackersFrozen: evals.reduce((s, e) => s + e.attackersFrozen, 0),
    othersFrozen: evals.reduce((s, e) => s + e.othersFrozen, 0),
    platformOnLeaked: evals.reduce((s, e) => s + e.platformOnLeaked, 0),
    platformOnOthers: evals.reduce((s, e) => s + e.platformOnOthers, 0),
    secondCampaigns: evals.filter((e) => e.secondCampaign).length,
    platformInTime: evals.filter(
      (e) => (e.secondCampaign?.alertDelayMs ?? Number.POSITIVE_INFINITY) <= PLATFORM_ALERT_DEADLINE_MS,
    ).length,
  };
}

export type { BenignKind };
