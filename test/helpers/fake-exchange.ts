import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Binance- and KuCoin-shaped public REST answers on 127.0.0.1, for the real ccxt clients pointed
 * here (`apiUrls`): `/binance/api/v3/…` and `/kucoin/api/v1/…`. `failures` scripts status codes to
 * answer before the real response, per path prefix; `down` makes a venue answer 500 always.
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
  /** API keys seen in private requests (the X-MBX-APIKEY header), and whether each was signed. */
  readonly privateCalls: Array<{ apiKey: string; signed: boolean }> = [];
  price = 70.1;
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  port = 0;

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(venue: 'binance' | 'kucoin'): string {
    return venue === 'binance'
      ? `http://127.0.0.1:${this.port}/binance/api/v3`
      : `http://127.0.0.1:${this.port}/kucoin`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): unknown {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(url.pathname);
    const venue = url.pathname.startsWith('/binance') ? 'binance' : 'kucoin';
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
}
