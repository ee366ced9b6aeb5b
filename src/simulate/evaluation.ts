/**
 * Scores alerts against a scenario's ground truth: recall per attack strength, value a revoke
 * would have prevented, false revokes per benign kind, time and fills before the first revoke.
 */
import type { Alert } from '../events/schema.js';
import { median } from '../market/reference-price.js';
import type { AccountTruth, AttackStrength, BenignKind } from './scenario.js';

/** The platform revokes the key this long after the alert is published. */
export const REVOKE_DELAY_MS = 1_000;
/** A victim's revoke counts as catching the attack from this long before its first malicious order. */
export const ATTACK_LEAD_MS = 10 * 60_000;

export interface VictimOutcome {
  accountId: string;
  strength: AttackStrength;
  revokedAt?: number;
  fillsBeforeRevoke: number;
  secondsToRevoke?: number;
  valueMoved: number;
  valuePrevented: number;
}

export interface Evaluation {
  victims: VictimOutcome[];
  /** Victims whose key was revoked before the attack (on benign behaviour): a false revoke too. */
  revokedBeforeAttack: number;
  benignByKind: Record<string, { accounts: number; falseRevokes: number; reviews: number }>;
  /** Attacker (counterparty) accounts in the scenario, how many got `freeze_account`, and other accounts frozen. */
  attackers: number;
  attackersFrozen: number;
  othersFrozen: number;
}

/** First revoke per account, from alerts (or any list of {accountId, timestamp, recommendation}). */
/**
 * Revoke times per account (sorted), from alerts or any list of {accountId, timestamp,
 * recommendation}, and the accounts that got a review.
 */
export function firstRevokes(alerts: Iterable<Pick<Alert, 'accountId' | 'timestamp' | 'recommendation'>>) {
  const first = new Map<string, number[]>();
  const reviews = new Set<string>();
  const frozen = new Set<string>();
  for (const a of alerts) {
    if (a.recommendation === 'review') reviews.add(a.accountId);
    if (a.recommendation === 'freeze_account') frozen.add(a.accountId);
    if (a.recommendation !== 'revoke_key' && a.recommendation !== 'freeze_account') continue;
    const list = first.get(a.accountId) ?? [];
    list.push(a.timestamp);
    first.set(a.accountId, list);
  }
  for (const list of first.values()) list.sort((x, y) => x - y);
  return { first, reviews, frozen };
}

export function evaluate(
  truth: Record<string, AccountTruth>,
  revokes: ReadonlyMap<string, readonly number[]>,
  reviews: ReadonlySet<string> = new Set(),
  attackers: readonly string[] = [],
  frozen: ReadonlySet<string> = new Set(),
): Evaluation {
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
        ...(revokedAt !== undefined
          ? { revokedAt, secondsToRevoke: (revokedAt - t.attackStart!) / 1000 }
          : {}),
        fillsBeforeRevoke: fills.filter((f) => f.timestamp <= (revokedAt ?? Number.POSITIVE_INFINITY)).length,
        valueMoved,
        valuePrevented,
      });
    } else {
      const row = (benignByKind[t.kind] ??= { accounts: 0, falseRevokes: 0, reviews: 0 });
      row.accounts++;
      if (times.length > 0) row.falseRevokes++;
      if (reviews.has(accountId)) row.reviews++;
    }
  }
  const attackersFrozen = attackers.filter((a) => frozen.has(a)).length;
  return {
    victims,
    benignByKind,
    revokedBeforeAttack,
    attackers: attackers.length,
    attackersFrozen,
    othersFrozen: frozen.size - attackersFrozen,
  };
}

export interface EvaluationTable {
  byStrength: Record<
    string,
    {
      victims: number;
      revoked: number;
      recall: number;
      medianFillsBefore?: number;
      medianSeconds?: number;
      prevented: number;
    }
  >;
  preventedShare: number;
  benign: Record<string, { accounts: number; falseRevokes: number; rate: number; reviews: number }>;
  falseRevokeRate: number;
  benignAccounts: number;
  victimsRevokedBeforeAttack: number;
  attackers: number;
  attackersFrozen: number;
  othersFrozen: number;
}

export function summarize(evals: readonly Evaluation[]): EvaluationTable {
  const victims = evals.flatMap((e) => e.victims);
  const byStrength: EvaluationTable['byStrength'] = {};
  for (const strength of ['strong', 'medium', 'careful'] as const) {
    const vs = victims.filter((v) => v.strength === strength);
    const revoked = vs.filter((v) => v.revokedAt !== undefined);
    const moved = vs.reduce((s, v) => s + v.valueMoved, 0);
    byStrength[strength] = {
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
  const moved = victims.reduce((s, v) => s + v.valueMoved, 0);
  const benign: EvaluationTable['benign'] = {};
  let accounts = 0;
  let falseRevokes = 0;
  for (const e of evals) {
    for (const [kind, row] of Object.entries(e.benignByKind)) {
      const b = (benign[kind] ??= { accounts: 0, falseRevokes: 0, rate: 0, reviews: 0 });
      b.accounts += row.accounts;
      b.falseRevokes += row.falseRevokes;
      b.reviews += row.reviews;
      accounts += row.accounts;
      falseRevokes += row.falseRevokes;
    }
  }
  for (const b of Object.values(benign)) b.rate = b.accounts ? b.falseRevokes / b.accounts : 0;
  return {
    byStrength,
    preventedShare: moved > 0 ? victims.reduce((s, v) => s + v.valuePrevented, 0) / moved : 0,
    benign,
    falseRevokeRate: accounts ? falseRevokes / accounts : 0,
    benignAccounts: accounts,
    victimsRevokedBeforeAttack: evals.reduce((s, e) => s + e.revokedBeforeAttack, 0),
    attackers: evals.reduce((s, e) => s + e.attackers, 0),
    attackersFrozen: evals.reduce((s, e) => s + e.attackersFrozen, 0),
    othersFrozen: evals.reduce((s, e) => s + e.othersFrozen, 0),
  };
}

export type { BenignKind };
