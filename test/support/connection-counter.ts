import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

// TCP-level stand-ins for a service: what an HTTP-level proxy would hide (connection reuse, silence).

interface LoopbackServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Listens on a free loopback port; close() also ends every socket `track` was given. `protocol` is the
 * scheme of the url given out: bytes pass untouched, so an https client speaks TLS through it.
 */
async function loopbackServer(
  onConnection: (socket: Socket, track: (s: Socket) => void) => void,
  protocol = 'http:',
): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const server = createServer((socket) => onConnection(socket, track));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${protocol}//127.0.0.1:${port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A TCP pass-through in front of a local service that counts the connections clients open: HTTP keep-alive
 * shows as few connections for many requests. Bytes are not looked at; its url has the target's scheme.
 */
export async function connectionCounter(target: string): Promise<LoopbackServer & { connections(): number }> {
  const upstream = new URL(target);
  let count = 0;
  const server = await loopbackServer((client, track) => {
    count++;
    const service = connect(Number(upstream.port), upstream.hostname);
    for (const s of [client, service]) {
      track(s);
      s.on('error', () => {
        client.destroy();
        service.destroy();
      });
    }
    client.pipe(service).pipe(client);
  }, upstream.protocol);
  return { ...server, connections: () => count };
}

/**
 * A TCP server that accepts connections, reads what comes and never answers: a hung service. With
 * 'https:', clients hang in the TLS handshake.
 */
export function silentServer(protocol = 'http:'): Promise<LoopbackServer> {
  return loopbackServer((socket, track) => {
    track(socket);
    socket.on('error', () => socket.destroy());
    socket.resume();
  }, protocol);
}
