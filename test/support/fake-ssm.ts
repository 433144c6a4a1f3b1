// A fake SSM Parameter Store endpoint (there is no local SSM): the real SDK, its signing and its JSON
// protocol, answered by a local HTTP server from a map of parameters. Point AWS_ENDPOINT_URL_SSM at `url`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Line } from './capture.js';

export interface FakeSsm {
  url: string;
  /** Each request: its target (the SSM action), whether it was signed, the region it was signed for, and its body. */
  requests: Line[];
  close: () => Promise<void>;
}

/**
 * Answers GetParametersByPath (one level under the path) and GetParameter (ParameterNotFound when missing);
 * a path in `denied` is answered AccessDeniedException, as SSM answers a role without the permission.
 */
export async function fakeSsm(parameters: Record<string, string>, options: { denied?: string[] } = {}): Promise<FakeSsm> {
  const requests: Line[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const request = JSON.parse(body) as Line;
      const target = String(req.headers['x-amz-target']);
      const authorization = String(req.headers.authorization ?? '');
      // The region the client signed for: Credential=<key>/<date>/<region>/ssm/aws4_request.
      const region = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(authorization)?.[1];
      requests.push({ target, signed: authorization.startsWith('AWS4-HMAC-SHA256'), region, ...request });
      const reply = (status: number, document: unknown) =>
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(document));
      const parameter = (Name: string, Value: string) => ({ Name, Value, Type: 'SecureString', Version: 1 });
      if (target === 'AmazonSSM.GetParameter') {
        const name = String(request.Name);
        const value = parameters[name];
        if (value === undefined) reply(400, { __type: 'ParameterNotFound', message: `${name} not found` });
        else reply(200, { Parameter: parameter(name, value) });
        return;
      }
      const path = String(request.Path);
      if (options.denied?.includes(path)) {
        reply(400, { __type: 'AccessDeniedException', message: `not authorized to perform ssm:GetParametersByPath on ${path}` });
        return;
      }
      const found = Object.entries(parameters)
        .filter(([name]) => name.startsWith(`${path}/`) && !name.slice(path.length + 1).includes('/'))
        .map(([name, value]) => parameter(name, value));
      reply(200, { Parameters: found });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
