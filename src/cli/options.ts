import { UsageError } from '../errors.js';

/** A whole-number option (≥ 0), or `fallback` when absent. */
export function wholeNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} expects a whole number, got "${text}"`);
  return n;
}
