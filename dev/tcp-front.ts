import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay in front of a local server, that can go away as a crashed proxy does: `refuse()` closes its
 * listener and breaks every open connection, so a pooled connection fails at once and a new one is refused
 * (ECONNREFUSED, nothing listens on the port); `accept()` listens on the same port again. The faults the
 * server scripts itself (503s, delays) need no front: this adds the one it cannot script, being gone.
 */
export interface TcpFront {
  /** `http://127.0.0.1:<port>`, the same across `refuse` and `accept`. */
  readonly url: string;
  /** Resolves once nothing listens and every relayed connection is broken. */
  refuse(): Promise<void>;
  /** Rejects when another process took the port while it was closed. */
  accept(): Promise<void>;
  close(): Promise<void>;
}

const listen = (server: Server, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    server.once('error', failed);
    server.listen({ host: '127.0.0.1', port }, () => {
      server.off('error', failed);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });

/** Relays to `target` (`http://host:port`). */
export const startTcpFront = async (target: string): Promise<TcpFront> => {
  const { hostname, port: targetPort } = new URL(target);
  const open = new Set<Socket>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  };
  const server = createServer((client) => {
    const upstream = connect({ host: hostname, port: Number(targetPort) });
    track(client);
    track(upstream);
    // Either side failing ends both, as a proxy that dies takes its connections with it.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  const port = await listen(server, 0);
  let listening = true;
  const refuse = async () => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of open) socket.destroy();
    await closed;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    refuse,
    accept: async () => {
      if (listening) return;
      await listen(server, port);
      listening = true;
    },
    close: refuse,
  };
};
