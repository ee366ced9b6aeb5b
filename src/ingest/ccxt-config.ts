/** Configuration pieces shared by everything that talks to exchanges through ccxt (market feed, collector). */
import ccxt from 'ccxt';
import { z } from 'zod';

const ms = z.number().int().positive();

/** The exchange's id in ccxt (binance, kucoin, okx, …); also the events' `exchange`. */
export const ccxtExchangeId = z
  .string()
  .refine((id) => (ccxt.exchanges as string[]).includes(id), 'not an exchange ccxt knows');

export const unifiedSymbols = z.array(z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'expected BASE/QUOTE')).min(1);

/** How a ccxt client is made for an exchange. */
export const ccxtClientFields = {
  /** ccxt client options (e.g. `{ "options": { "defaultType": "spot" } }`), passed as they are. */
  ccxt: z.record(z.string(), z.unknown()).default({}),
  /** Replace ccxt's API base URLs (a proxy, or a local test server): `{ "public": "http://…" }`. */
  apiUrls: z.record(z.string(), z.url()).optional(),
  /**
   * `load`: ccxt loads the markets from the exchange (production). `symbols`: built from the
   * symbols without a request (binance, kucoin and coinbase ids only; for tests and restricted networks).
   */
  markets: z.enum(['load', 'symbols']).default('load'),
};

/** Retries of one exchange request (network errors, 429, 5xx). */
export const requestRetrySchema = z
  .object({
    initialDelayMs: ms.default(500),
    maxDelayMs: ms.default(30_000),
    attempts: z.number().int().min(1).default(5),
  })
  .default({ initialDelayMs: 500, maxDelayMs: 30_000, attempts: 5 });
