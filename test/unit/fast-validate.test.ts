import { describe, expect, it } from 'vitest';
import { fastValidator } from '../../src/events/fast-validate.js';
import { inputEventSchema } from '../../src/events/schema.js';
import { eventCorpus } from '../helpers/event-corpus.js';

const fast = fastValidator(inputEventSchema);

describe('the compiled event validator', () => {
  const inputs = eventCorpus();

  it('accepts only what zod accepts, returning what zod returns', () => {
    let accepted = 0;
    for (const input of inputs) {
      const mine = fast(input);
      if (mine === undefined) continue;
      accepted++;
      const z = inputEventSchema.safeParse(input);
      expect(z.success, JSON.stringify(input)).toBe(true);
      expect(mine).toEqual(z.data);
    }
    expect(accepted).toBeGreaterThan(1000);
  });

  it('accepts everything zod accepts unchanged (it defers only what zod would strip fields from)', () => {
    let valid = 0;
    for (const input of inputs) {
      const z = inputEventSchema.safeParse(input);
      if (!z.success) continue;
      valid++;
      const strips = Object.keys(input as object).length !== Object.keys(z.data).length;
      expect(fast(input) === undefined, JSON.stringify(input)).toBe(strips);
    }
    expect(valid).toBeGreaterThan(1000);
  });

  it('the corpus is broken in many ways: zod refuses hundreds of its records', () => {
    expect(inputs.filter((i) => !inputEventSchema.safeParse(i).success).length).toBeGreaterThan(500);
  });
});
