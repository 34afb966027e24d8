/**
 * A tiny HTTP(S) server whose answers a test scripts, for the GitLab adapter's unit tests: it
 * records every request with the time it arrived, and can hang or reset a connection.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. "/api/v4/groups/7/projects?per_page=100". */
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Arrival time (ms since the epoch). */
  at: number;
}

export type ScriptedAnswer =
  | { status?: number; headers?: Record<string, string>; json?: unknown; text?: string; raw?: Buffer }
  | { action: 'hang' }
  | { action: 'reset' };

export type Script = (request: RecordedRequest) => ScriptedAnswer;

export interface ScriptedServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startScriptedServer(
  script: Script,
  tls?: { key: string; cert: string },
): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        url: new URL(req.url ?? '/', 'http://scripted'),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(recorded);
      const answer = script(recorded);
      if ('action' in answer) {
        if (answer.action === 'reset') req.socket.destroy();
        return; // 'hang': never answer; close() tears the socket down.
      }
      const headers: Record<string, string> = { ...answer.headers };
      let body: string | Buffer = answer.raw ?? answer.text ?? '';
      if (answer.json !== undefined) {
        body = JSON.stringify(answer.json);
        headers['content-type'] ??= 'application/json';
      }
      res.writeHead(answer.status ?? 200, headers);
      res.end(body);
    });
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers in order; the last answer repeats. */
export function inOrder(...answers: ScriptedAnswer[]): Script {
  let next = 0;
  return () => answers[Math.min(next++, answers.length - 1)];
}

/** Answers by "METHOD /path" (query ignored), 404 otherwise. */
export function byRoute(routes: Record<string, Script | ScriptedAnswer>): Script {
  return (request) => {
    const route = routes[`${request.method} ${request.url.pathname}`];
    if (!route) return { status: 404, json: { message: '404 Not Found' } };
    return typeof route === 'function' ? route(request) : route;
  };
}
