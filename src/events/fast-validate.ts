/**
 * A validator for the hot path, compiled from the zod schemas themselves (zod stays the single
 * source of truth): the schema's definition is walked once into plain checks — type, length,
 * pattern, bounds, enum — per field. It accepts exactly what the schema accepts for records
 * without unknown fields, and returns the record itself (zod would return an equal copy). Anything
 * it does not accept — an invalid record, or a valid one with fields zod would strip — goes to
 * zod, which gives the verdict and the message. test/unit/fast-validate.test.ts proves the
 * equivalence on a corpus of valid and broken events.
 */
import type { z } from 'zod';

type Check = (value: unknown) => boolean;

interface ZodDefLike {
  type: string;
  checks?: Array<{ _zod: { def: Record<string, unknown> } }>;
  innerType?: ZodLike;
  element?: ZodLike;
  shape?: Record<string, ZodLike>;
  entries?: Record<string, unknown>;
  values?: unknown[];
  options?: ZodLike[];
  discriminator?: string;
  catchall?: ZodLike;
}
interface ZodLike {
  _zod: { def: ZodDefLike };
}

/** A schema construct this compiler does not know: the caller falls back to zod for everything. */
export class UnsupportedSchema extends Error {}

function checksOf(def: ZodDefLike): Check[] {
  return (def.checks ?? []).map((c) => {
    const d = c._zod.def;
    switch (d.check) {
      case 'min_length': {
        const min = d.minimum as number;
        return (v) => (v as string).length >= min;
      }
      case 'max_length': {
        const max = d.maximum as number;
        return (v) => (v as string).length <= max;
      }
      case 'string_format': {
        if (d.format !== 'regex') throw new UnsupportedSchema(`string format ${String(d.format)}`);
        const pattern = d.pattern as RegExp;
        return (v) => {
          pattern.lastIndex = 0;
          return pattern.test(v as string);
        };
      }
      case 'greater_than': {
        const bound = d.value as number;
        return d.inclusive ? (v) => (v as number) >= bound : (v) => (v as number) > bound;
      }
      case 'less_than': {
        const bound = d.value as number;
        return d.inclusive ? (v) => (v as number) <= bound : (v) => (v as number) < bound;
      }
      case 'number_format': {
        if (d.format !== 'safeint') throw new UnsupportedSchema(`number format ${String(d.format)}`);
        return (v) => Number.isSafeInteger(v);
      }
      default:
        throw new UnsupportedSchema(`check ${String(d.check)}`);
    }
  });
}

function all(first: Check, rest: Check[]): Check {
  if (rest.length === 0) return first;
  return (v) => {
    if (!first(v)) return false;
    for (const c of rest) if (!c(v)) return false;
    return true;
  };
}

function compile(schema: ZodLike): Check {
  const def = schema._zod.def;
  switch (def.type) {
    case 'string':
      return all((v) => typeof v === 'string', checksOf(def));
    case 'number':
      // zod's number refuses NaN and ±Infinity (JSON.parse gives Infinity for 1e400).
      return all((v) => typeof v === 'number' && Number.isFinite(v), checksOf(def));
    case 'literal': {
      const values = def.values ?? [];
      return (v) => values.includes(v);
    }
    case 'enum': {
      const allowed = new Set(Object.values(def.entries ?? {}));
      return (v) => allowed.has(v);
    }
    case 'optional': {
      const inner = compile(def.innerType!);
      return (v) => v === undefined || inner(v);
    }
    case 'array': {
      if ((def.checks ?? []).length > 0) throw new UnsupportedSchema('array checks');
      const element = compile(def.element!);
      return (v) => Array.isArray(v) && v.every(element);
    }
    case 'object': {
      if (def.catchall) throw new UnsupportedSchema('object catchall');
      const fields = Object.entries(def.shape ?? {}).map(([k, s]) => [k, compile(s)] as const);
      const known = new Set(fields.map(([k]) => k));
      return (v) => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
        const o = v as Record<string, unknown>;
        for (const k in o) if (!known.has(k)) return false; // zod would strip it: let zod do it
        for (const [k, check] of fields) if (!check(o[k])) return false;
        return true;
      };
    }
    case 'union': {
      const key = def.discriminator;
      if (!key) throw new UnsupportedSchema('union without a discriminator');
      const byTag = new Map<unknown, Check>();
      for (const option of def.options ?? []) {
        const tag = option._zod.def.shape?.[key]?._zod.def;
        if (tag?.type !== 'literal') throw new UnsupportedSchema('discriminator that is not a literal');
        const check = compile(option);
        for (const value of tag.values ?? []) byTag.set(value, check);
      }
      return (v) => {
        if (typeof v !== 'object' || v === null) return false;
        const check = byTag.get((v as Record<string, unknown>)[key]);
        return check?.(v) ?? false;
      };
    }
    default:
      throw new UnsupportedSchema(`type ${def.type}`);
  }
}

/**
 * The schema's fast check: `value` when it is valid and has no field zod would strip, else
 * undefined (ask zod). Throws `UnsupportedSchema` at compile time for constructs it does not know.
 */
export function fastValidator<S extends z.ZodType>(schema: S): (value: unknown) => z.output<S> | undefined {
  const check = compile(schema as unknown as ZodLike);
  return (value) => (check(value) ? (value as z.output<S>) : undefined);
}
