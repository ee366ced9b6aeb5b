/** The one place ccxt clients are made: rate-limited, URLs overridden if asked, markets loaded or built. */
import ccxt, { type Exchange } from 'ccxt';
import { ConfigError } from '../errors.js';
import { NATIVE_EXCHANGES, type NativeExchange, spotMarket } from './native-payloads.js';

export interface VenueClientOptions {
  /** The exchange's id in ccxt. */
  exchange: string;
  symbols: readonly string[];
  /** ccxt client options, passed as they are. */
  ccxt: Record<string, unknown>;
  /** Replacements for ccxt's API base URLs. */
  apiUrls?: Record<string, string>;
  /** `load` from the exchange, or built from `symbols` without a request (Binance, KuCoin, Coinbase). */
  markets: 'load' | 'symbols';
}

/** A ccxt client for a venue (credentials for private calls, if given). */
export function venueClient(venue: VenueClientOptions, credentials: object = {}): Exchange {
  const Ctor = (ccxt as unknown as Record<string, new (cfg: object) => Exchange>)[venue.exchange];
  if (!Ctor) throw new ConfigError(`ccxt has no exchange "${venue.exchange}"`);
  const client = new Ctor({ ...venue.ccxt, ...credentials, enableRateLimit: true });
  if (venue.apiUrls) {
    const api = client.urls.api as unknown as Record<string, string>;
    client.urls.api = { ...api, ...venue.apiUrls } as typeof client.urls.api;
  }
  if (venue.markets === 'symbols') {
    if (!NATIVE_EXCHANGES.includes(venue.exchange as NativeExchange)) {
      throw new ConfigError(
        `markets "symbols" is for ${NATIVE_EXCHANGES.join(', ')}; use "load" for ${venue.exchange}`,
      );
    }
    client.setMarkets(venue.symbols.map((s) => spotMarket(venue.exchange as NativeExchange, s)));
  }
  return client;
}
