/**
 * Campaign fan-in on one symbol: the first buys of the pair by every account, whichever worker
 * saw them, within a sliding window of event time. Accounts that all bought mostly from the same
 * counterparty, or whose keys all started trading from the same new client IP, or that share a key
 * label and make up most of the keyed buyers, are one campaign once there are enough of them and
 * more than the link's own baseline (a market maker fills first-time buyers every day: its daily
 * peak fan-in is its bar). Every keyed member gets `revoke_key` — whatever its own score — and
 * the counterparties the members bought from get `freeze_account`. Pure: state in, alerts out.
 */
import type { DetectionConfig } from '../config/detection.js';
import type { FirstBuy, KeyAnomaly } from '../events/observation.js';
import { type Alert, RECOMMENDATION_LEVEL, type Recommendation } from '../events/schema.js';
import { alertIdFor } from '../scoring/alert-id.js';
import { round, sig } from '../scoring/scale.js';
import { countInDay, DAY_MS, notePeak, previousPeak } from '../state/daily-peaks.js';
import { addToWindow } from './time-window.js';
import { type Buyer, type WindowBuyers, windowBuyers } from './window-buyers.js';

type CampaignConfig = DetectionConfig['campaign'];

export interface OpenCampaign {
  id: string;
  /** Every link that qualified for it ("cp:…", "ip:…", "label:…"): one campaign, however it shows. */
  links: string[];
  /** Event time of the first member's first buy and of the latest member's. */
  start: number;
  last: number;
  /** Accounts already given a recommendation, and counterparties already frozen. */
  members: string[];
  frozen: string[];
}

export interface SymbolCampaignState {
  kind: 'symbol';
  /** First buys within the window, oldest first. */
  obs: FirstBuy[];
  /** Newest event time seen. */
  newest: number;
  /** Per link ("cp:…", "ip:…", "label:…"): daily peak of its member count. */
  peaks: Record<string, number[]>;
  /** Open campaigns by id, and the campaign each qualifying link belongs to. */
  campaigns: Record<string, OpenCampaign>;
  open: Record<string, string>;
  /** The UTC day of the last campaign opened and how many opened that day (numbers the ids). */
  days?: [day: number, count: number];
}

export function newSymbolCampaignState(): SymbolCampaignState {
  return { kind: 'symbol', obs: [], newest: 0, peaks: {}, campaigns: {}, open: {} };
}

/** The most links whose baselines are kept per symbol (the least recently seen go first). */
const MAX_LINKS = 500;

function linksOf(o: FirstBuy): string[] {
  const out: string[] = [];
  if (o.counterpartyAccountId) out.push(`cp:${o.counterpartyAccountId}`);
  if (o.apiKeyId && o.newClientIp && o.clientIp) out.push(`ip:${o.clientIp}`);
  if (o.apiKeyId && o.label) out.push(`label:${o.label}`);
  return out;
}

/**
 * A buyer that looks driven rather than chasing: several orders into the new pair, or a key trading
 * from an IP it never used and buying beyond the account's habit. A person chasing a pump mostly
 * clicks once; a stolen key is drained through several orders, or one far larger than the account
 * ever placed, from the attacker's machine. One order of its usual size from a new IP is what a pump
 * buyer whose bot moved server, or whose dormant key woke for the pump, looks like — and one order
 * of a size keyguard cannot compare yet (no habit) is a platform's follower meeting one of its
 * servers as much as a stolen key: the second order tells. Only driven buyers count towards (and
 * join) a campaign, whatever its link.
 */
function isDriven(b: Buyer, cfg: CampaignConfig, window: WindowBuyers): boolean {
  return (
    b.orders.size >= cfg.drivenMinOrders ||
    (hasNewIp(b, window) && (b.maxSizeRatio ?? 0) >= cfg.drivenNewIpSizeRatio)
  );
}

/**
 * The buyer's key trades from an IP it never used that no key in the window used before either: an
 * attacker's machine, not a server of the platform the keys were made for (see `isEstablished`).
 */
function hasNewIp(b: Buyer, window: WindowBuyers): boolean {
  for (const ip of b.newIps) if (!window.isEstablished(ip)) return true;
  return false;
}

/** Revoked by the account's own detectors on one of these buys. */
function isRevoked(b: Buyer): boolean {
  return RECOMMENDATION_LEVEL[b.ownRecommendation as Recommendation] >= RECOMMENDATION_LEVEL.revoke_key;
}

/**
 * A buyer with evidence of its own that it was not chasing a pump: revoked by its own detectors
 * (a victim caught alone still counts towards its counterparty), or driven and either paying above
 * what the crowd paid, spending far beyond its usual largest order, or trading from a key's new
 * IP. A pump's crowd pays the crowd's price, its usual size, from its usual IP: its dumpers sell to
 * many driven first-time buyers, none of them evidenced. But a crowd has its keys back from a new
 * IP too (bots moved server, dormant keys woken for the pump): in a `crowded` window a new IP is
 * evidence only beside a spend beyond the account's habit (`crowdNewIpSizeRatio`).
 */
function isEvidenced(b: Buyer, cfg: CampaignConfig, window: WindowBuyers, crowded = false): boolean {
  if (isRevoked(b)) return true;
  const newIp =
    hasNewIp(b, window) && (!crowded || spentBeyondHabit(b, cfg.crowdNewIpSizeRatio, cfg, crowded));
  return (
    isDriven(b, cfg, window) &&
    (newIp ||
      (b.maxLivePremium ?? 0) >= cfg.minLivePremium ||
      spentBeyondHabit(b, cfg.minSizeRatio, cfg, crowded) ||
      boughtAboveQuiet(b, cfg))
  );
}

/**
 * Spent ≥ `ratio` times its usual largest order in the pair — in a `crowded` window, against a habit
 * known from fewer than `crowdMinHabitOrders` orders, ≥ `thinHabitSizeRatio` times: a pump's buyers
 * place a few orders of their usual size, which add up to many times the one order keyguard has seen
 * from a quiet account (a new order is larger than the largest of n like it once in n + 1 times, and
 * one order's size varies a few times over). A drain's many times is many more. In a pair the
 * attackers pump alone the buyers are their victims, whatever keyguard knows of their habit.
 */
function spentBeyondHabit(b: Buyer, ratio: number, cfg: CampaignConfig, crowded: boolean): boolean {
  const thin = crowded && b.habitOrders !== undefined && b.habitOrders < cfg.crowdMinHabitOrders;
  return (b.maxSizeRatio ?? 0) >= (thin ? Math.max(ratio, cfg.thinHabitSizeRatio) : ratio);
}

/**
 * In a platform's view (no counterparty on the buyer's fills), most of what the buyer bought
 * (`quietShare`) was bought above a quiet market (fewer than `liveMarket.minPrints` other accounts'
 * prints in the 10 s before each fill, judged by the worker at the fill) and `minPremium` above those
 * few prints: nobody else was buying, and it paid more than the last who did. The victims of a pump
 * the attackers run alone are the pair's only buyers, however carefully priced; a public pump's
 * buyers buy among its prints, and its late buyers, once the tape has calmed, pay what the last
 * prints paid. Not where fills name a counterparty: there such members would also weigh in the
 * freezes, which must not depend on how the workers' observations interleave (with them, two workers
 * froze a non-attacker the in-process run did not), and the counterparty link has evidence of its own.
 */
function boughtAboveQuiet(b: Buyer, cfg: CampaignConfig): boolean {
  return b.byCounterparty.size === 0 && b.amount > 0 && b.quietAmount >= cfg.quietShare * b.amount;
}

/**
 * Whether the window's first-time buyers are a crowd (a public pump): most of them with no evidence
 * at all. In a pair the attackers pump alone the buyers are their victims.
 */
function isCrowded(window: WindowBuyers, cfg: CampaignConfig): boolean {
  const all = [...window.buyers.values()];
  const evidenced = all.filter((b) => isEvidenced(b, cfg, window)).length;
  return evidenced < cfg.counterparty.ownPair.membersShare * all.length;
}

/**
 * Enough members for a counterparty or label link: `minAccounts`, or `minRevokedAccounts` revoked by
 * their own detectors outside a crowd — victims caught alone whose money went one way, in a pair the
 * attackers pump alone (in a public pump two revoked buyers can share one of the crowd's sellers).
 */
function enoughMembers(
  members: readonly Buyer[],
  bar: { minAccounts: number; minRevokedAccounts: number },
  inCrowd: boolean,
): boolean {
  if (members.length >= bar.minAccounts) return true;
  return !inCrowd && members.filter((b) => isRevoked(b)).length >= bar.minRevokedAccounts;
}

/**
 * Whether a member revoked by its own detectors bought a share of all it bought
 * (`counterparty.minShare`, the bar of "bought mostly from") from `cp` ≥ `minLivePremium` above a
 * quiet market, in the premium part of its orders (see `premiumSellers`): a victim drained into that
 * account's asks where hardly anyone else was buying (fewer than `liveMarket.minPrints` others' prints in the
 * 10 s before: the observation's `quietMarket`). A pump buyer whose first order, placed a second
 * before the crowd arrived, lifted a pump seller's ask, then kept buying in the busy market, bought
 * a sliver there, not a share. Judged on the member's own observations (the worker's market at each
 * fill), not on the window as this fold finds it: the same whichever way the workers' observations
 * interleave. A pump's crowd buys in a busy market.
 */
function drainedAboveQuiet(
  members: readonly Buyer[],
  cp: string,
  state: SymbolCampaignState,
  cfg: CampaignConfig,
): boolean {
  const revoked = members.filter((b) => isRevoked(b));
  if (revoked.length === 0) return false;
  const { aboveQuiet } = premiumSellers(
    state,
    revoked.map((b) => b.accountId),
    cfg,
  );
  return revoked.some((b) =>
    isShareOf(b, aboveQuiet.get(`${b.accountId}\u0000${cp}`) ?? 0, cfg.counterparty.minShare),
  );
}

/**
 * Evidence a buyer carries on its own first buys, whatever else the window holds: revoked by its own
 * detectors, or several orders into the pair paying ≥ `minLivePremium` above what the others paid or
 * spending ≥ `minSizeRatio` times its largest order. (A key's new IP is evidence only beside the
 * window: whether another key used that server before, whether the window is a crowd.)
 */
function hasOwnEvidence(b: Buyer, cfg: CampaignConfig): boolean {
  return (
    isRevoked(b) ||
    (b.orders.size >= cfg.drivenMinOrders &&
      ((b.maxLivePremium ?? 0) >= cfg.minLivePremium || (b.maxSizeRatio ?? 0) >= cfg.minSizeRatio))
  );
}

/**
 * Enough members alone in the pair: `counterparty.minAccountsAlone` buyers with evidence of their
 * own (each spent far beyond its habit or paid far above the others, in several orders), who are
 * also `ownPair.membersShare` of the window's first-time buyers — a pair the attackers pump alone
 * with two careful victims. Two pump buyers share a dumper among many other buyers.
 */
function twoAlone(own: readonly Buyer[], buyers: number, cfg: CampaignConfig): boolean {
  return (
    own.length >= cfg.counterparty.minAccountsAlone &&
    own.length >= cfg.counterparty.ownPair.membersShare * buyers
  );
}

/** Whether `amount` is at least `minShare` of what the account bought (attackers split a victim's fills). */
function isShareOf(b: Buyer, amount: number, minShare: number): boolean {
  return amount >= minShare * b.amount;
}

interface LinkReading {
  members: Buyer[];
  qualifies: boolean;
  /**
   * Qualifies only through one victim revoked by its own detectors (`oneRevokedAboveQuiet`), or
   * through two buyers with evidence of their own alone in the pair (`minAccountsAlone`): the seller
   * is frozen, and only buyers with evidence of their own join (`hasOwnEvidence`) — a key's new IP
   * is evidence only beside the crowd the window holds when its buy is folded, which depends on how
   * the workers' observations interleave; the keyed share and the link's baseline are read on those
   * buyers too. Three members make a campaign as ever.
   */
  ownEvidenceOnly?: boolean;
  evidence: Record<string, number | string>;
}

/** `crowded`: whether the window is a crowd (see isCrowded), read once per fold and only if needed. */
function readLink(
  link: string,
  window: WindowBuyers,
  state: SymbolCampaignState,
  cfg: CampaignConfig,
  crowded: () => boolean,
): LinkReading {
  const [kind] = link.split(':', 1) as [string];
  const value = link.slice(kind.length + 1);
  const all = [...window.buyers.values()];
  const baseline = previousPeak(state.peaks[link] ?? [], state.newest, cfg.baselineDays);
  let members: Buyer[];
  let qualifies: boolean;
  let ownEvidenceOnly = false;
  const evidence: Record<string, number | string> = { baselinePeak: baseline };
  const inCrowd = kind !== 'ip' && crowded();
  if (kind === 'cp') {
    members = all.filter(
      (b) =>
        isEvidenced(b, cfg, window, inCrowd) &&
        isShareOf(b, b.byCounterparty.get(value) ?? 0, cfg.counterparty.minShare),
    );
    const keyedShare = (list: readonly Buyer[]) =>
      list.length ? list.filter((b) => b.apiKeyId).length / list.length : 0;
    evidence.keyedSharePct = round(keyedShare(members) * 100, 1);
    const bar = (list: readonly Buyer[]) =>
      keyedShare(list) >= cfg.counterparty.minKeyedShare &&
      list.length >= cfg.counterparty.baselineRatio * baseline;
    if (enoughMembers(members, cfg.counterparty, inCrowd)) qualifies = bar(members);
    else {
      // Judged on the buyers whose evidence no interleaving changes (see `ownEvidenceOnly`).
      const own = members.filter((b) => hasOwnEvidence(b, cfg));
      if (!inCrowd && twoAlone(own, all.length, cfg)) {
        ownEvidenceOnly = true;
        qualifies = bar(own);
      } else {
        // One victim.
        ownEvidenceOnly =
          cfg.counterparty.oneRevokedAboveQuiet && drainedAboveQuiet(members, value, state, cfg) && bar(own);
        qualifies = ownEvidenceOnly;
      }
    }
  } else if (kind === 'ip') {
    // A server some key in the window used before is a platform's, whoever else meets it now.
    members = window.isEstablished(value)
      ? []
      : all.filter((b) => b.apiKeyId && b.links.has(link) && isDriven(b, cfg, window));
    const bar = members.some((b) => isRevoked(b))
      ? Math.min(cfg.sharedNewIp.minAccounts, cfg.sharedNewIp.minAccountsWithRevoked)
      : cfg.sharedNewIp.minAccounts;
    qualifies = members.length >= bar && members.length >= cfg.counterparty.baselineRatio * baseline;
  } else {
    members = all.filter((b) => b.apiKeyId && isEvidenced(b, cfg, window, inCrowd) && b.links.has(link));
    const keyedBuyers = all.filter((b) => b.apiKeyId && isEvidenced(b, cfg, window, inCrowd)).length;
    const share = keyedBuyers ? members.length / keyedBuyers : 0;
    evidence.shareOfKeyedBuyersPct = round(share * 100, 1);
    qualifies =
      enoughMembers(members, cfg.label, inCrowd) &&
      share >= cfg.label.minShare &&
      members.length >= cfg.counterparty.baselineRatio * baseline;
  }
  return { members, qualifies, ...(ownEvidenceOnly ? { ownEvidenceOnly } : {}), evidence };
}

const LINK_TEXT: Record<string, string> = {
  cp: 'bought mostly from counterparty',
  ip: 'keys newly trading from client IP',
  label: 'keys labelled',
};

/**
 * A campaign's id derives from its evidence, not from the order observations reached the
 * aggregator: "the campaign on this symbol on this (UTC) day", the day of its earliest member's
 * first buy. Not the link that showed it first (counterparty, IP and label qualify in an order that
 * depends on how the workers' observations interleave) nor the exact earliest member (the workers
 * may be minutes apart in event time, and a careful campaign takes 10–30 minutes). A reprocessing
 * names the same campaign the same way, and so every alert it raises. A further campaign on the
 * same symbol and day is numbered (`n` ≥ 2).
 */
export function campaignIdFor(exchange: string, symbol: string, earliestBuy: number, n = 1): string {
  const day = new Date(Math.floor(earliestBuy / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
  return alertIdFor(exchange, `campaign:${symbol}`, n === 1 ? day : `${day}#${n}`, 'campaign');
}

/**
 * Folds one first buy into the symbol's window and returns the alerts it raises: new members of a
 * campaign (and, when a campaign opens, every member so far) and counterparties to freeze.
 */
export function foldFirstBuy(state: SymbolCampaignState, o: FirstBuy, cfg: CampaignConfig): Alert[] {
  const window = windowBuyers(state.obs, cfg.minPremium, linksOf);
  if (window.has(o.fillId)) return []; // already counted
  state.newest = Math.max(state.newest, o.timestamp);
  const evicted: FirstBuy[] = [];
  const horizon = addToWindow(state.obs, o, state.newest, cfg.windowMs, cfg.maxObservations, evicted);
  window.update(o, evicted);
  for (const [id, c] of Object.entries(state.campaigns)) {
    if (c.last >= horizon) continue;
    delete state.campaigns[id];
    for (const l of c.links) delete state.open[l];
  }

  // Whether the window is a crowd: the same for every link this buy is read through (the buyers do
  // not change within a fold), so counted once.
  let crowdedMemo: boolean | undefined;
  const crowded = () => (crowdedMemo ??= isCrowded(window, cfg));
  const alerts: Alert[] = [];
  const day = Math.floor(o.timestamp / DAY_MS);
  const oldestDay = Math.floor(state.newest / DAY_MS) - cfg.baselineDays;
  const judged = new Set<string>();
  for (const link of linksOf(o)) {
    const reading = readLink(link, window, state, cfg, crowded);
    notePeak((state.peaks[link] ??= []), day, reading.members.length, oldestDay);
    const openId = state.open[link];
    let campaign = openId ? state.campaigns[openId] : undefined;
    if (!campaign && !reading.qualifies) continue;
    let joining: Buyer[];
    if (campaign) {
      // Once open, every buyer with the link joins (the bar was met by the ones before).
      joining = reading.members.filter(
        (b) => b.accountId === o.accountId && (!reading.ownEvidenceOnly || hasOwnEvidence(b, cfg)),
      );
    } else {
      // A link qualifying for accounts already in a campaign is the same campaign seen another way.
      campaign = Object.values(state.campaigns).find((c) =>
        reading.members.some((m) => c.members.includes(m.accountId)),
      );
      if (!campaign) {
        const first = state.obs.find((x) => reading.members.some((m) => m.fills.includes(x.fillId)));
        const earliest = first?.timestamp ?? o.timestamp;
        state.days = countInDay(state.days, earliest);
        const id = campaignIdFor(o.exchange, o.symbol, earliest, state.days[1]);
        campaign = {
          id,
          links: [],
          start: first?.timestamp ?? o.timestamp,
          last: o.timestamp,
          members: [],
          frozen: [],
        };
        state.campaigns[campaign.id] = campaign;
      }
      campaign.links.push(link);
      state.open[link] = campaign.id;
      joining = reading.ownEvidenceOnly
        ? reading.members.filter((b) => hasOwnEvidence(b, cfg))
        : reading.members;
    }
    campaign.last = Math.max(campaign.last, o.timestamp);
    judged.add(campaign.id);
    alerts.push(...campaignAlerts(campaign, link, joining, reading, window, state, o, cfg));
  }
  // A member's buy through a link of no open campaign (from another of the attackers' accounts),
  // or anyone's buy from a counterparty a campaign froze.
  for (const campaign of Object.values(state.campaigns)) {
    if (judged.has(campaign.id)) continue;
    const fromFrozen =
      o.counterpartyAccountId !== undefined && campaign.frozen.includes(o.counterpartyAccountId);
    if (!fromFrozen && !campaign.members.includes(o.accountId)) continue;
    campaign.last = Math.max(campaign.last, o.timestamp);
    const link = campaign.links[0]!;
    alerts.push(
      ...campaignAlerts(
        campaign,
        link,
        [],
        readLink(link, window, state, cfg, crowded),
        window,
        state,
        o,
        cfg,
      ),
    );
  }
  trimLinks(state);
  return alerts;
}

/**
 * The keyed members a fold just revoked whose key has a label, as leak-cohort data points: a key
 * revoked because it was drained with others is evidence against the platform it was made for as
 * much as a key revoked on its own evidence (most careful victims are only ever revoked this way).
 * The label is the member's first buys' (still in the window: it joined from them).
 */
export function memberKeyAnomalies(state: SymbolCampaignState, alerts: readonly Alert[]): KeyAnomaly[] {
  const out: KeyAnomaly[] = [];
  for (const a of alerts) {
    if (a.recommendation !== 'revoke_key' || !a.apiKeyId || !a.campaignId) continue;
    const label = state.obs.find((x) => x.accountId === a.accountId && x.label)?.label;
    if (!label) continue;
    out.push({
      type: 'key_anomaly',
      exchange: a.exchange,
      label,
      accountId: a.accountId,
      apiKeyId: a.apiKeyId,
      timestamp: a.timestamp,
      alertId: a.alertId,
      recommendation: a.recommendation,
      score: a.score,
      ...(a.symbol ? { symbol: a.symbol } : {}),
    });
  }
  return out;
}

function campaignAlerts(
  campaign: OpenCampaign,
  link: string,
  joining: readonly Buyer[],
  reading: LinkReading,
  window: WindowBuyers,
  state: SymbolCampaignState,
  trigger: FirstBuy,
  cfg: CampaignConfig,
): Alert[] {
  const buyers = window.buyers;
  const out: Alert[] = [];
  const [kind] = link.split(':', 1) as [string];
  const value = link.slice(kind.length + 1);
  const size = Math.max(reading.members.length, campaign.members.length);
  const summary = `${size} accounts ${LINK_TEXT[kind]} ${value} buying ${trigger.symbol} for the first time within ${round(cfg.windowMs / 60_000, 1)} min`;
  const signal = (extra: Record<string, number | string>) => ({
    detector: 'campaign_fan_in',
    score: cfg.alertScore,
    evidence: {
      summary,
      link: kind,
      linkValue: value,
      accounts: size,
      windowMinutes: round(cfg.windowMs / 60_000, 1),
      ...reading.evidence,
      ...extra,
    },
  });
  const base = {
    exchange: trigger.exchange,
    timestamp: trigger.timestamp,
    severity: 'critical' as const,
    score: cfg.alertScore,
    symbol: trigger.symbol,
    campaignId: campaign.id,
  };
  const join = (b: Buyer, extra: Record<string, number | string> = {}) => {
    campaign.members.push(b.accountId);
    const recommendation = b.apiKeyId ? 'revoke_key' : 'review';
    out.push({
      ...base,
      alertId: alertIdFor(trigger.exchange, b.accountId, `campaign:${campaign.id}`, recommendation),
      accountId: b.accountId,
      ...(b.apiKeyId ? { apiKeyId: b.apiKeyId } : {}),
      recommendation,
      signals: [
        signal({
          role: 'victim',
          ownRecommendation: b.ownRecommendation,
          ...(b.maxPremium !== undefined ? { premiumPct: round(b.maxPremium * 100, 2) } : {}),
          ...extra,
        }),
      ],
      eventIds: b.fills.slice(-10),
    });
  };
  const newVictims = joining.filter((b) => !campaign.members.includes(b.accountId));
  for (const b of newVictims) join(b);
  // A pair the attackers pump alone: the members are most of the window's first-time buyers. There
  // one member is enough to freeze a seller (see `freeze`), and whoever else bought (nearly) only
  // from the frozen counterparties, in several orders, was driven to them (below). Never in a public
  // pump, where the crowd lifts the attackers' asks too.
  const { membersShare, boughtShare } = cfg.counterparty.ownPair;
  const ownPair = () => campaign.members.filter((id) => buyers.has(id)).length >= membersShare * buyers.size;
  // Freezes are judged again on every member's buy (not only when one joins): the campaign's
  // counterparties then do not depend on the order the workers' observations arrived in.
  if (newVictims.length > 0 || campaign.members.includes(trigger.accountId))
    freeze(campaign, kind, value, buyers, state, cfg, ownPair(), (cp, victimsBoughtFrom) =>
      out.push({
        ...base,
        alertId: alertIdFor(trigger.exchange, cp, `campaign:${campaign.id}`, 'freeze_account'),
        accountId: cp,
        recommendation: 'freeze_account',
        signals: [signal({ role: 'counterparty', victimsBoughtFrom, price: sig(trigger.price) })],
        eventIds: campaign.members.flatMap((id) => buyers.get(id)?.fills ?? []).slice(-20),
      }),
    );
  // The others driven to the frozen counterparties are victims without evidence of their own (no
  // new IP, their usual size, the attackers' painted prints as the live market) — if they bought
  // from them where hardly anyone else was trading: a pump's first seconds have few first-time
  // buyers yet, but a busy market, and a crowd buyer there lifts the attackers' asks too.
  if (campaign.frozen.length === 0 || !ownPair()) return out;
  const boughtFromFrozen = (b: Buyer) =>
    campaign.frozen.reduce((sum, cp) => sum + (b.byCounterparty.get(cp) ?? 0), 0);
  const late = [...buyers.values()].filter(
    (b) =>
      !campaign.members.includes(b.accountId) &&
      isDriven(b, cfg, window) &&
      isShareOf(b, boughtFromFrozen(b), boughtShare) &&
      campaign.frozen.some((cp) => b.quietSellers.has(cp)),
  );
  for (const b of late)
    join(b, { boughtFromFrozen: campaign.frozen.filter((cp) => b.byCounterparty.has(cp)).join(',') });
  return out;
}

/**
 * Counterparties to freeze, each reported once per campaign through `report`: sellers of the
 * premium to at least two members (see `premiumSellers`) — or, in the campaign's `ownPair`, where
 * the members are most of the window's buyers and the attackers split them between their accounts,
 * to `ownPair.minMembersSold` (one), `minPremium` above the live market, or any part of the premium
 * to two members (the live market there is the attackers' own prints) — that are the link's own or
 * sold members most of what they sold to first-time buyers in the window.
 */
function freeze(
  campaign: OpenCampaign,
  kind: string,
  value: string,
  buyers: Map<string, Buyer>,
  state: SymbolCampaignState,
  cfg: CampaignConfig,
  ownPair: boolean,
  report: (cp: string, victimsBoughtFrom: number) => void,
): void {
  // Attackers that split the victims between them are each frozen; a seller serving the crowd is
  // not. The sellers of the cheaper asks a victim's order lifts before the attacker's (a pair's
  // makers, the crowd selling into a pump) sold to victims too — without the premium: they do not count.
  const { atPremium, endedOrders, aboveLive, aboveMarket } = premiumSellers(state, campaign.members, cfg);
  const counts = new Map<string, number>();
  /** Sellers a counted member bought from above the live market (the attacker's inflated asks). */
  const overLive = new Set<string>();
  /** Sellers a counted member bought from `minPremium` above it: not a pair's maker at the market. */
  const overMarket = new Set<string>();
  /**
   * Members each seller sold to in the premium part of their orders, whatever the share: in the
   * attackers' own pair they split a victim's fills between their accounts.
   */
  const reached = new Map<string, number>();
  for (const id of campaign.members) {
    const b = buyers.get(id);
    const sellers = atPremium.get(id);
    if (!b || !sellers) continue;
    for (const cp of sellers.keys()) reached.set(cp, (reached.get(cp) ?? 0) + 1);
    // A share of what the member bought, or the asks one of its orders ended on (the dearest it
    // paid: an attacker's ladder can end on another account's top level, lifted for a little).
    for (const [cp, amount] of sellers)
      if (isShareOf(b, amount, cfg.counterparty.minShare) || endedOrders.has(`${id}\u0000${cp}`)) {
        counts.set(cp, (counts.get(cp) ?? 0) + 1);
        if (aboveLive.has(`${id}\u0000${cp}`)) overLive.add(cp);
        if (aboveMarket.has(`${id}\u0000${cp}`)) overMarket.add(cp);
      }
  }
  /**
   * What `cp` sold members, and what it sold every buyer in the window: whom it serves. (Whether a
   * member counts for it is the premium part's; an attacker's cheaper levels sold to a member are
   * still sold to a member.)
   */
  const soldToMembers = (cp: string) => {
    let total = 0;
    for (const b of buyers.values())
      if (campaign.members.includes(b.accountId)) total += b.byCounterparty.get(cp) ?? 0;
    return total;
  };
  const soldInWindow = (cp: string) => {
    let total = 0;
    for (const b of buyers.values()) total += b.byCounterparty.get(cp) ?? 0;
    return total;
  };
  // The link's own counterparty too: a maker whose asks every victim swept first can be what links them.
  // One member is enough for a seller whose asks it lifted ≥ `minLivePremium` above what everyone
  // else was paying: an attacker account that one victim drained into (a seller of the crowd sells at
  // the crowd's price, to a false member as to anyone).
  const toFreeze = [...reached.keys()].filter(
    (cp) =>
      ((counts.get(cp) ?? 0) >= cfg.counterparty.minMembersSold ||
        overLive.has(cp) ||
        (ownPair &&
          ((overMarket.has(cp) && (counts.get(cp) ?? 0) >= cfg.counterparty.ownPair.minMembersSold) ||
            (reached.get(cp) ?? 0) >= cfg.counterparty.minMembersSold))) &&
      ((kind === 'cp' && cp === value) ||
        soldToMembers(cp) >= cfg.counterparty.minSoldToMembers * soldInWindow(cp)),
  );
  for (const cp of toFreeze) {
    if (campaign.frozen.includes(cp)) continue;
    campaign.frozen.push(cp);
    report(cp, reached.get(cp) ?? 0); // every member it counts for, it reached
  }
}

/**
 * Per member, the amount it bought from each seller in the part of its orders that paid the
 * premium, over the window's buys that make buyers (see window-buyers: at or above `minPremium`
 * over the reference): everything the sellers an order ended on sold in it (they reached its
 * highest price, within 0.1 %), and every fill at least `minPremium` above the order's cheapest.
 * A victim's order lifts the asks resting near the market first (a pair's makers, the crowd selling
 * into a pump), then the attacker's ladder up to where the order ends: the attacker's lower levels
 * count, the cheaper asks do not. `endedOrders` holds "member seller" for the sellers an order ended
 * on, `minPremium` above where it began; `aboveMarket` and `aboveLive` for those of such fills
 * ≥ `minPremium` and ≥ `minLivePremium` above the live market, and `aboveQuiet` the amount of the
 * latter bought above a quiet market.
 */
function premiumSellers(
  state: SymbolCampaignState,
  members: readonly string[],
  cfg: CampaignConfig,
): {
  atPremium: Map<string, Map<string, number>>;
  endedOrders: Set<string>;
  aboveLive: Set<string>;
  aboveQuiet: Map<string, number>;
  aboveMarket: Set<string>;
} {
  const mine = state.obs.filter(
    (o) =>
      o.counterpartyAccountId !== undefined &&
      (o.premium === undefined || o.premium >= cfg.minPremium) &&
      members.includes(o.accountId),
  );
  const orders = new Map<string, { low: number; high: number; last: number }>();
  for (const o of mine) {
    const r = orders.get(o.orderId);
    if (!r) orders.set(o.orderId, { low: o.price, high: o.price, last: o.timestamp });
    else
      Object.assign(r, {
        low: Math.min(r.low, o.price),
        high: Math.max(r.high, o.price),
        last: Math.max(r.last, o.timestamp),
      });
  }
  const atTop = new Set<string>();
  const endedOrders = new Set<string>();
  for (const o of mine) {
    const { low, high, last } = orders.get(o.orderId)!;
    // An order still filling has no top yet: its first fill may be a cheap ask it is sweeping on the
    // way. Until it settles, only a fill above what the market paid is its top.
    const settled = last <= state.newest - cfg.orderSettleMs;
    if (o.price < high * 0.999 || (!settled && !((o.livePremium ?? 0) >= cfg.minPremium))) continue;
    atTop.add(`${o.orderId}\u0000${o.counterpartyAccountId}`);
    if (o.price >= low * (1 + cfg.minPremium))
      endedOrders.add(`${o.accountId}\u0000${o.counterpartyAccountId}`);
  }
  const atPremium = new Map<string, Map<string, number>>();
  const aboveLive = new Set<string>();
  const aboveQuiet = new Map<string, number>();
  const aboveMarket = new Set<string>();
  for (const o of mine) {
    const seller = o.counterpartyAccountId!;
    const aboveCheapest = o.price >= orders.get(o.orderId)!.low * (1 + cfg.minPremium);
    if (!aboveCheapest && !atTop.has(`${o.orderId}\u0000${seller}`)) continue;
    const key = `${o.accountId}\u0000${seller}`;
    if ((o.livePremium ?? 0) >= cfg.minPremium) aboveMarket.add(key);
    if ((o.livePremium ?? 0) >= cfg.minLivePremium) {
      aboveLive.add(key);
      if (o.quietMarket) aboveQuiet.set(key, (aboveQuiet.get(key) ?? 0) + o.amount);
    }
    let bySeller = atPremium.get(o.accountId);
    if (!bySeller) atPremium.set(o.accountId, (bySeller = new Map()));
    bySeller.set(seller, (bySeller.get(seller) ?? 0) + o.amount);
  }
  return { atPremium, endedOrders, aboveLive, aboveQuiet, aboveMarket };
}

function trimLinks(state: SymbolCampaignState): void {
  const links = Object.keys(state.peaks);
  if (links.length <= MAX_LINKS) return;
  links.sort((a, b) => lastDay(state.peaks[a]!) - lastDay(state.peaks[b]!));
  for (const l of links.slice(0, links.length - MAX_LINKS)) delete state.peaks[l];
}

function lastDay(p: number[]): number {
  return p.length >= 2 ? p[p.length - 2]! : 0;
}
