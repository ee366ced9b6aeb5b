import { UsageError } from '../errors.js';

/** A whole-number option (≥ 0), or `fallback` when absent. */
export function wholeNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} expects a whole number, got "${text}"`);
  return n;
}

/** A point in time given as ISO 8601 or epoch ms (`--since`, `--effective-from`), as epoch ms. */
export function timeOption(name: string, text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms))
    throw new UsageError(`--${name} expects an ISO 8601 time or epoch ms, got "${text}"`);
  return ms;
}
