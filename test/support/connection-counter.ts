import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

// TCP-level stand-ins for a service: what an HTTP-level proxy would hide (connection reuse, silence).

/**
 * A TCP pass-through in front of a local service that counts the connections clients open: HTTP keep-alive
 * shows as few connections for many requests. Bytes are not looked at.
 */
export async function connectionCounter(target: string): Promise<{ url: string; connections(): number; close(): Promise<void> }> {
  const upstream = new URL(target);
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    count++;
    const service = connect(Number(upstream.port), upstream.hostname);
    for (const s of [client, service]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        service.destroy();
      });
    }
    client.pipe(service).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP server that accepts connections, reads what comes and never answers: a hung service. */
export async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
