/**
 * A graphql-transport-ws socket driven by hand, for tests that send what a well-behaved client
 * never would (oversized messages, operations racing a revocation) and watch every message and the
 * close code.
 */
import WebSocket from 'ws';

export interface RawMessage {
  id?: string;
  type: string;
  payload?: any;
}

export interface RawSocket {
  socket: WebSocket;
  messages: RawMessage[];
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string; at: number }>;
  /** The first message (seen or still to come) that matches. */
  next(predicate: (m: RawMessage) => boolean): Promise<RawMessage>;
  send(message: RawMessage | string): void;
  /** Sends a subscribe message and resolves with its first `next` or `error` answer. */
  operation(id: string, query: string, variables?: Record<string, unknown>): Promise<RawMessage>;
}

/** Opens a socket and sends connection_init with `token`; resolves once acknowledged (or closed). */
export async function openRawSocket(url: string, token: string | null): Promise<RawSocket> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: RawMessage[] = [];
  const waiters: { predicate: (m: RawMessage) => boolean; resolve: (m: RawMessage) => void }[] = [];
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason), at: Date.now() })),
  );
  socket.on('message', (data) => {
    const message = JSON.parse((data as Buffer).toString('utf8')) as RawMessage; // ws's default binaryType
    messages.push(message);
    for (const w of waiters.splice(0)) {
      if (w.predicate(message)) w.resolve(message);
      else waiters.push(w);
    }
  });
  const next = (predicate: (m: RawMessage) => boolean) => {
    const found = messages.find(predicate);
    return found ? Promise.resolve(found) : new Promise<RawMessage>((resolve) => waiters.push({ predicate, resolve }));
  };
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const send = (message: RawMessage | string) =>
    socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  send({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} });
  await Promise.race([next((m) => m.type === 'connection_ack'), closed]);
  return {
    socket,
    messages,
    closed,
    next,
    send,
    operation(id, query, variables) {
      send({ id, type: 'subscribe', payload: { query, variables } });
      return Promise.race([
        next((m) => m.id === id && (m.type === 'next' || m.type === 'error')),
        closed.then((c) => ({ type: 'closed', payload: c })),
      ]);
    },
  };
}

/** The errors of an answer from `operation`, whichever message carried them. */
export function errorsOf(message: RawMessage): { message: string; extensions?: Record<string, any> }[] {
  if (message.type === 'error') return message.payload;
  if (message.type === 'next') return message.payload.errors ?? [];
  return [];
}
