import { createServer, type Server } from 'node:http';
import type { GantryMetrics } from '../metrics/metrics.ts';
import { SERVER_HEADER } from '../ops/version.ts';

/**
 * A second, minimal HTTP listener serving only GET /metrics without a token, for the `metricsListen`
 * setting: bind it to an address only Prometheus reaches (loopback, a private network) instead of
 * handing Prometheus an admin token.
 */
export function createMetricsServer(metrics: GantryMetrics): Server {
  return createServer((req, res) => {
    res.setHeader('server', SERVER_HEADER);
    const url = (req.url ?? '/').split('?')[0];
    if (url !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n'),
    );
  });
}
