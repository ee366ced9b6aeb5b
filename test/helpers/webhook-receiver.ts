import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedRequest {
  id: string;
  body: string;
  headers: Record<string, string>;
  verified: boolean;
  verifyError?: string;
  /** What the receiver answered (or "hang"). */
  answer: number | 'hang';
  at: number;
}

/** What to answer: a status (with headers), or hang until the connection is dropped or `release()`. */
export type Answer = number | { status: number; headers?: Record<string, string> } | 'hang';

/**
 * A platform's webhook receiver on 127.0.0.1, written the way docs/webhooks.md tells platforms to: verify
 * with the `standardwebhooks` library, deduplicate by `webhook-id`, answer 2xx only when accepted.
 * `answers` scripts the responses per webhook-id (or for every request).
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Accepted deliveries, by webhook-id (a redelivery of an accepted id is acknowledged, not accepted again). */
  readonly accepted = new Map<string, unknown>();
  private readonly server: http.Server;
  private readonly hanging = new Map<http.ServerResponse, { id: string; payload: unknown }>();
  private readonly verifier: Webhook;
  port = 0;

  constructor(
    secret: string,
    private readonly answer: (id: string, attempt: number) => Answer = () => 200,
  ) {
    this.verifier = new Webhook(secret);
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  attemptsFor(id: string): number {
    return this.requests.filter((r) => r.id === id).length;
  }

  /** Answers every hanging request with `status`. */
  release(status = 200): void {
    for (const [res, { id, payload }] of this.hanging) {
      if (res.writableEnded || res.destroyed) continue;
      if (status >= 200 && status < 300 && !this.accepted.has(id)) this.accepted.set(id, payload);
      res.writeHead(status).end();
    }
    this.hanging.clear();
  }

  get openRequests(): number {
    return [...this.hanging.keys()].filter((r) => !r.writableEnded && !r.destroyed).length;
  }

  async waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline)
        throw new Error(`receiver: timed out waiting for ${what} (${this.requests.length} requests so far)`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async close(): Promise<void> {
    this.release(503);
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
    );
    const id = headers['webhook-id'] ?? '';
    const attempt = this.attemptsFor(id) + 1;
    const request: ReceivedRequest = { id, body, headers, verified: false, answer: 0, at: Date.now() };
    let payload: unknown;
    try {
      payload = this.verifier.verify(body, headers);
      request.verified = true;
    } catch (err) {
      request.verifyError = (err as Error).message;
    }
    this.requests.push(request);
    if (!request.verified) {
      request.answer = 400;
      res.writeHead(400).end();
      return;
    }
    const answer = this.answer(id, attempt);
    if (answer === 'hang') {
      request.answer = 'hang';
      this.hanging.set(res, { id, payload });
      return;
    }
    const { status, headers: extra } = typeof answer === 'number' ? { status: answer, headers: {} } : answer;
    request.answer = status;
    if (status >= 200 && status < 300 && !this.accepted.has(id)) this.accepted.set(id, payload);
    res.writeHead(status, extra).end();
  }
}
