import type { AccountRef } from './baseline-store.js';

/**
 * Every Redis key keyguard uses is built here and passed to scripts as KEYS (never built in Lua),
 * so scripts stay valid on Redis Cluster. The `{…}` hash tag keeps all of one account's keys in
 * one slot. Ids are URI-encoded so a `{`, `}` or `:` inside an id cannot break the layout.
 */
export function accountStateKey(prefix: string, ref: AccountRef): string {
  return `${prefix}acct:{${encodeURIComponent(ref.exchange)}:${encodeURIComponent(ref.accountId)}}:state`;
}
