/**
 * The process's HTTP endpoints for SREs: `/metrics` (Prometheus), `/healthz` (the process is
 * alive), `/readyz` (connected and working: the readiness check decides).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type ReadinessCheck = () => Promise<{ ready: boolean; detail: Record<string, unknown> }>;

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

export async function startOpsServer(
  port: number,
  registry: Registry,
  readiness: ReadinessCheck,
): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return reply(405, 'text/plain', 'GET only\n');
    if (path === '/healthz') return reply(200, 'application/json', '{"status":"ok"}\n');
    if (path === '/readyz') {
      readiness().then(
        ({ ready, detail }) =>
          reply(ready ? 200 : 503, 'application/json', `${JSON.stringify({ ready, ...detail })}\n`),
        (err) =>
          reply(
            503,
            'application/json',
            `${JSON.stringify({ ready: false, error: (err as Error).message })}\n`,
          ),
      );
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => reply(200, registry.contentType, text),
        (err) => reply(500, 'text/plain', `${(err as Error).message}\n`),
      );
      return;
    }
    reply(404, 'text/plain', 'not found: try /metrics, /healthz, /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
