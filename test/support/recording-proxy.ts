import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A pass-through HTTP proxy in front of a local service that records each request line, for checking
 * request shapes that the service itself accepts but ignores (the GCS emulator's preconditions).
 */
export async function recordingProxy(
  target: string,
): Promise<{ url: string; requests: string[]; bodies: string[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const requests: string[] = [];
  /** Request bodies of JSON requests (metadata updates), in order. */
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (String(req.headers['content-type']).includes('json')) {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => bodies.push(`${req.method} ${req.url} ${body}`));
    }
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
