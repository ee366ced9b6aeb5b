/** Linear ramp from 0 at `lo` to 1 at `hi`, clamped. Shared by every detector's score mapping. */
export function ramp(value: number, lo: number, hi: number): number {
  if (hi <= lo) return value >= hi ? 1 : 0;
  return Math.min(1, Math.max(0, (value - lo) / (hi - lo)));
}

export function round(value: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Rounds to `sig` significant digits (prices of illiquid coins are tiny numbers). */
export function sig(value: number, digits = 6): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  const scale = 10 ** (digits - Math.ceil(Math.log10(Math.abs(value))));
  return Math.round(value * scale) / scale;
}
