import type { AccountRef } from './baseline-store.js';

/**
 * Every Redis key keyguard uses is built here and passed to scripts as KEYS (never built in Lua),
 * so scripts stay valid on Redis Cluster. The `{…}` hash tag keeps all of one account's keys in
 * one slot. Ids are URI-encoded so a `{`, `}` or `:` inside an id cannot break the layout.
 */
export function accountStateKey(prefix: string, ref: AccountRef): string {
  return `${prefix}acct:{${encodeURIComponent(ref.exchange)}:${encodeURIComponent(ref.accountId)}}:state`;
}

/**
 * The deployment's state epoch: written once when a deployment first stores state, never expires.
 * If it is missing, Redis lost its data (restart without persistence, flush, failover to an empty
 * replica) and every baseline with it.
 */
export function stateEpochKey(prefix: string): string {
  return `${prefix}{epoch}`;
}

/** The revocation circuit breaker's keys: one hash tag, so its script stays valid on a cluster. */
export function breakerKeys(prefix: string): [actions: string, decisions: string, state: string] {
  return [
    `${prefix}webhooks:{breaker}:actions`,
    `${prefix}webhooks:{breaker}:decisions`,
    `${prefix}webhooks:{breaker}:state`,
  ];
}

/**
 * Endpoints disabled by a 410 Gone: endpoint id -> why and when. In the breaker's slot: both are
 * read in one round trip.
 */
export function disabledEndpointsKey(prefix: string): string {
  return `${prefix}webhooks:{breaker}:disabled-endpoints`;
}

/** The collector's cursors for one exchange key: field `<symbol>|<trades|orders>` -> `{since, ids}`. */
export function collectorCursorKey(
  prefix: string,
  exchange: string,
  accountId: string,
  apiKeyId: string,
): string {
  return `${prefix}collect:{${encodeURIComponent(exchange)}:${encodeURIComponent(accountId)}}:${encodeURIComponent(apiKeyId)}:cursor`;
}

/** One campaign aggregation group (a symbol's first buys, a key label's anomalies). */
export function campaignGroupKey(prefix: string, group: string): string {
  return `${prefix}campaign:{${encodeURIComponent(group)}}:state`;
}
