/**
 * The API benchmark's baseline: a bare node:http server that answers each known URL with a fixed JSON body
 * and does nothing else (no routing framework, auth, database or serialisation), showing what the Node
 * HTTP stack alone costs for a body of that size. It runs as its own process, like Gantry, so it does not
 * share an event loop with the load generator.
 *
 *   node --import tsx bench/support/static-json-server.ts <bodies.json>   (object: url → body text)
 *   prints "listening <port>" once ready
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const file = process.argv[2];
if (!file) throw new Error('usage: static-json-server.ts <bodies.json>');
const bodies = new Map(
  Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>).map(([url, text]) => [
    url,
    Buffer.from(text),
  ]),
);

const server = createServer((req, res) => {
  const body = bodies.get(req.url ?? '');
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
