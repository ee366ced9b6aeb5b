import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

type Venue = 'binance' | 'kucoin' | 'coinbase';

/**
 * Binance- and KuCoin-shaped public REST answers on 127.0.0.1, for the real ccxt clients pointed
 * here (`apiUrls`): `/binance/api/v3/…` and `/kucoin/api/v1/…`; the connected account's own trades
 * and orders Binance-shaped (`myTrades`, `allOrders`) and Coinbase Advanced Trade-shaped
 * (`/coinbase/api/v3/brokerage/orders/historical/{fills,batch}`, HMAC-signed requests checked
 * against `coinbaseSecret`). `failures` scripts status codes to answer before the real response,
 * per path prefix; `down` makes a venue answer 500 always.
 */
export class FakeExchange {
  readonly requests: string[] = [];
  readonly failures = new Map<string, number[]>();
  readonly down = new Set<string>();
  /** Public trades per venue, newest last; tests append to simulate new prints. */
  readonly trades: Record<
    'binance' | 'kucoin',
    Array<{ id: number; price: number; amount: number; time: number }>
  > = {
    binance: [],
    kucoin: [],
  };
  /** The connected account's own trades and orders (Binance private endpoints). */
  readonly myTrades: Array<{
    id: number;
    orderId: number;
    price: number;
    qty: number;
    time: number;
    isBuyer: boolean;
  }> = [];
  readonly myOrders: Array<{ orderId: number; price: number; qty: number; time: number; status: string }> =
    [];
  /** The secret Coinbase requests must be signed with (`CB-ACCESS-SIGN`). */
  coinbaseSecret = '';
  /** API keys seen in private requests (X-MBX-APIKEY, CB-ACCESS-KEY), and whether each was signed (rightly, for Coinbase). */
  readonly privateCalls: Array<{ apiKey: string; signed: boolean }> = [];
  price = 70.1;
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  port = 0;

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(venue: Venue): string {
    return venue === 'binance'
      ? `http://127.0.0.1:${this.port}/binance/api/v3`
      : `http://127.0.0.1:${this.port}/${venue}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): unknown {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(url.pathname);
    const venue = url.pathname.split('/')[1] as Venue;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (this.down.has(venue)) return send(500, { msg: 'down' });
    for (const [prefix, queue] of this.failures) {
      if (url.pathname.startsWith(prefix) && queue.length > 0)
        return send(queue.shift()!, { msg: 'scripted failure' });
    }
    const now = Date.now();
    const p = this.price;
    const since = Number(url.searchParams.get('startTime') ?? 0);
    switch (url.pathname) {
      case '/binance/api/v3/ticker/24hr':
        return send(200, {
          symbol: url.searchParams.get('symbol'),
          bidPrice: (p - 0.1).toFixed(8),
          askPrice: (p + 0.1).toFixed(8),
          lastPrice: String(p),
          volume: '1000',
          quoteVolume: String(1000 * p),
          openTime: now - 86_400_000,
          closeTime: now,
        });
      case '/binance/api/v3/aggTrades':
        return send(
          200,
          this.trades.binance
            .filter((t) => t.time >= since)
            .map((t) => ({
              a: t.id,
              p: String(t.price),
              q: String(t.amount),
              f: t.id,
              l: t.id,
              T: t.time,
              m: false,
              M: true,
            })),
        );
      case '/binance/api/v3/myTrades':
      case '/binance/api/v3/allOrders': {
        this.privateCalls.push({
          apiKey: String(req.headers['x-mbx-apikey'] ?? ''),
          signed: url.searchParams.has('signature'),
        });
        if (url.pathname.endsWith('myTrades')) {
          return send(
            200,
            this.myTrades
              .filter((t) => t.time >= since)
              .map((t) => ({
                symbol: url.searchParams.get('symbol'),
                id: t.id,
                orderId: t.orderId,
                orderListId: -1,
                price: String(t.price),
                qty: String(t.qty),
                quoteQty: String(t.price * t.qty),
                commission: '0',
                commissionAsset: 'USDT',
                time: t.time,
                isBuyer: t.isBuyer,
                isMaker: false,
                isBestMatch: true,
              })),
          );
        }
        return send(
          200,
          this.myOrders
            .filter((o) => o.time >= since)
            .map((o) => ({
              symbol: url.searchParams.get('symbol'),
              orderId: o.orderId,
              orderListId: -1,
              clientOrderId: `c${o.orderId}`,
              price: String(o.price),
              origQty: String(o.qty),
              executedQty: String(o.status === 'FILLED' ? o.qty : 0),
              cummulativeQuoteQty: '0',
              status: o.status,
              timeInForce: 'GTC',
              type: 'LIMIT',
              side: 'BUY',
              time: o.time,
              updateTime: o.time,
              isWorking: true,
            })),
        );
      }
      case '/coinbase/api/v3/brokerage/orders/historical/fills':
      case '/coinbase/api/v3/brokerage/orders/historical/batch':
        return send(200, this.coinbasePrivate(req, url));
      case '/kucoin/api/v1/market/stats':
        return send(200, {
          code: '200000',
          data: {
            time: now,
            symbol: url.searchParams.get('symbol'),
            buy: (p - 0.1).toFixed(8),
            sell: (p + 0.1).toFixed(8),
            last: String(p),
            vol: '1000',
            volValue: String(1000 * p),
          },
        });
      case '/kucoin/api/v1/market/histories':
        return send(200, {
          code: '200000',
          data: this.trades.kucoin.map((t) => ({
            sequence: String(t.id),
            price: String(t.price),
            size: String(t.amount),
            side: 'buy',
            time: t.time * 1_000_000,
          })),
        });
      default:
        return send(404, { msg: `no ${url.pathname}` });
    }
  }

  /** Coinbase Advanced Trade: the account's fills or orders since the request's start time. */
  private coinbasePrivate(req: http.IncomingMessage, url: URL): unknown {
    const ts = String(req.headers['cb-access-timestamp'] ?? '');
    const path = url.pathname.replace(/^\/coinbase/, '');
    const expected = createHmac('sha256', this.coinbaseSecret).update(`${ts}GET${path}`).digest('hex');
    this.privateCalls.push({
      apiKey: String(req.headers['cb-access-key'] ?? ''),
      signed: req.headers['cb-access-sign'] === expected,
    });
    const product = url.searchParams.get('product_id') ?? '';
    const iso = (t: number) => new Date(t).toISOString();
    if (url.pathname.endsWith('fills')) {
      const since = Date.parse(url.searchParams.get('start_sequence_timestamp') ?? '1970-01-01T00:00:00Z');
      const fills = this.myTrades
        .filter((t) => t.time >= since)
        .map((t) => ({
          entry_id: `e${t.id}`,
          trade_id: `t-${t.id}`,
          order_id: `o-${t.orderId}`,
          trade_time: iso(t.time),
          trade_type: 'FILL',
          price: String(t.price),
          size: String(t.qty),
          commission: '0',
          product_id: product,
          sequence_timestamp: iso(t.time),
          liquidity_indicator: 'TAKER',
          size_in_quote: false,
          user_id: 'u1',
          side: t.isBuyer ? 'BUY' : 'SELL',
        }));
      return { fills, cursor: '' };
    }
    const since = Date.parse(url.searchParams.get('start_date') ?? '1970-01-01T00:00:00Z');
    const orders = this.myOrders
      .filter((o) => o.time >= since)
      .map((o) => ({
        order_id: `o-${o.orderId}`,
        product_id: product,
        user_id: 'u1',
        order_configuration: { limit_limit_gtc: { base_size: String(o.qty), limit_price: String(o.price) } },
        side: 'BUY',
        client_order_id: `c${o.orderId}`,
        status: o.status,
        time_in_force: 'GOOD_UNTIL_CANCELLED',
        created_time: iso(o.time),
        filled_size: String(o.status === 'FILLED' ? o.qty : 0),
        average_filled_price: String(o.price),
        order_type: 'LIMIT',
        product_type: 'SPOT',
      }));
    return { orders, sequence: '0', has_next: false, cursor: '' };
  }
}
