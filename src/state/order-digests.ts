/**
 * The account's recent distinct orders, kept as short fixed-width digests of their ids in one
 * string (oldest first) instead of the ids themselves: exchange order ids run to 36 characters
 * (UUIDs), and 32 of them were the largest part of a baseline in Redis. A digest is 36 bits in six
 * URL-safe base64 characters; a new order is taken for one of the 32 recent ones with probability
 * 32 / 2^36 ≈ 5·10^-10 (it would then go uncounted in the burst windows, never counted twice).
 */
export const DIGEST_CHARS = 6;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** 32-bit FNV-1a over UTF-16 code units, from a given offset basis, with a final avalanche. */
function fnv1a(text: string, basis: number): number {
  let h = basis;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The digest of an order id: 32 bits of one hash and 4 of another, six base64 characters. */
export function orderDigest(orderId: string): string {
  const a = fnv1a(orderId, 0x811c9dc5);
  const b = fnv1a(orderId, 0x5bd1e995);
  return (
    ALPHABET[a & 63]! +
    ALPHABET[(a >>> 6) & 63]! +
    ALPHABET[(a >>> 12) & 63]! +
    ALPHABET[(a >>> 18) & 63]! +
    ALPHABET[(a >>> 24) & 63]! +
    ALPHABET[((a >>> 30) | (b << 2)) & 63]!
  );
}

/** Whether `digests` (a string of whole digests) holds `digest`. */
export function hasDigest(digests: string, digest: string): boolean {
  for (let i = 0; i < digests.length; i += DIGEST_CHARS) if (digests.startsWith(digest, i)) return true;
  return false;
}

/** Appends a digest, keeping the newest `max`. */
export function pushDigest(digests: string, digest: string, max: number): string {
  const next = digests + digest;
  return next.length > max * DIGEST_CHARS ? next.slice(next.length - max * DIGEST_CHARS) : next;
}
