import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/**
 * A real forward proxy, as a company's would be: an absolute-form request (`GET http://host/path`)
 * is sent on to its host and the answer streamed back; CONNECT opens a tunnel (what https goes
 * through — the proxy then sees only encrypted bytes). `seen` lists what it was asked, in order:
 * `GET http://…` lines and `CONNECT host:port` lines. With `credentials` it answers 407 to whatever
 * comes without them (Proxy-Authorization: Basic), as a proxy that wants a login does; with
 * `refuseTunnels`, every CONNECT gets that status, as from a proxy whose allow-list lacks the host.
 */
export interface HttpProxy {
  url: string;
  seen: string[];
  close(): Promise<void>;
}

export async function startHttpProxy(
  options: {
    credentials?: { user: string; password: string };
    /** Answers every CONNECT with this status instead of a tunnel (an allow-list's 403). */
    refuseTunnels?: number;
  } = {},
): Promise<HttpProxy> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const { credentials } = options;
  const expected = credentials
    ? `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`
    : null;
  const refused = (headers: IncomingHttpHeaders) => expected !== null && headers['proxy-authorization'] !== expected;
  const server: Server = createServer((incoming, answer) => {
    seen.push(`${incoming.method} ${incoming.url}`);
    if (refused(incoming.headers)) {
      answer.writeHead(407, { 'proxy-authenticate': 'Basic realm="proxy"' }).end();
      return;
    }
    let target: URL;
    try {
      target = new URL(incoming.url ?? '');
    } catch {
      answer.writeHead(400).end('absolute-form requests only');
      return;
    }
    const headers = { ...incoming.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const onward = httpRequest(target, { method: incoming.method, headers }, (response) => {
      answer.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(answer);
    });
    onward.on('error', () => (answer.headersSent ? answer.destroy() : answer.writeHead(502).end()));
    incoming.pipe(onward);
  });
  server.on('connect', (incoming, client: Socket, head: Buffer) => {
    seen.push(`CONNECT ${incoming.url}`);
    if (options.refuseTunnels) {
      client.end(`HTTP/1.1 ${options.refuseTunnels} Refused\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    if (refused(incoming.headers)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\n\r\n');
      return;
    }
    const [host, port] = (incoming.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => (socket === client ? upstream : client).destroy());
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
