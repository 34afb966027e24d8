/**
 * An EventTarget whose events cross processes through PostgreSQL LISTEN/NOTIFY, so a worker
 * process can publish progress and any API process delivers it to its graphql-ws subscribers.
 * Plugged into `createPubSub({ eventTarget })`. A single process uses the same path: its own
 * events come back through LISTEN, so there is one delivery order for everyone.
 *
 * - Sends go through one client, chained, so events of one process keep their order; events
 *   dispatched while a send is on its way go together in the next statement.
 * - NOTIFY payloads are limited to 8000 bytes: events must be small DTOs (ids, counts, status).
 * - The listening client reconnects with backoff and re-LISTENs; events sent while it was away are
 *   lost, which is why every run's state is also queryable.
 * - Fan-out is in process: one notification, however many subscribers. `route` names the scoped
 *   types an event is also delivered under (`BACKUP_PROGRESS` → `BACKUP_PROGRESS:run:<id>`, …), so
 *   a subscriber scoped to one run listens on that type alone and an event costs only its own
 *   subscribers — never a filter over every subscriber of every run. A type without listeners
 *   costs a map lookup.
 * - It counts its listeners per type (`listenerCounts`, `onListenersChanged`), so a test or an
 *   operator can see that subscribers that left gave their listeners back.
 */
import { setMaxListeners } from 'node:events';
import pg from 'pg';
import type { Logger } from '../shared/logger.js';

export const EVENTS_CHANNEL = 'labkeeper_events';
const MAX_PAYLOAD_BYTES = 7900;
/** Events sent in one statement at most (each a bound parameter of at most MAX_PAYLOAD_BYTES). */
const MAX_EVENTS_PER_STATEMENT = 64;

interface Wire {
  t: string;
  d: unknown;
}

export interface PgEventTargetOptions {
  /** Scoped keys an event is also delivered under, as `${type}:${key}` (default none). */
  route?: (type: string, detail: unknown) => readonly string[];
}

type Listener = EventListenerOrEventListenerObject;

export class PgEventTarget extends EventTarget {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly watchers = new Set<() => void>();
  private listener: pg.Client | null = null;
  private sender: pg.Client | null = null;
  private sending: Promise<unknown> = Promise.resolve();
  /** Dispatched, not yet handed to PostgreSQL (sendQueued). */
  private readonly queued: { payload: string; topic: string }[] = [];
  private closed = false;
  private reconnectDelayMs = 250;

  constructor(
    private readonly connectionString: string,
    private readonly logger: Logger,
    private readonly options: PgEventTargetOptions = {},
  ) {
    super();
    // Thousands of subscribers on one run's type are the design, not a leak (counted below).
    setMaxListeners(0, this);
  }

  override addEventListener(type: string, listener: Listener | null, options?: AddEventListenerOptions | boolean) {
    super.addEventListener(type, listener, options);
    if (!listener || (typeof options === 'object' && options.once)) return;
    const set = this.listeners.get(type) ?? new Set<Listener>();
    this.listeners.set(type, set.add(listener));
    this.changed();
  }

  override removeEventListener(type: string, listener: Listener | null, options?: EventListenerOptions | boolean) {
    super.removeEventListener(type, listener, options);
    const set = this.listeners.get(type);
    if (!listener || !set?.delete(listener)) return;
    if (set.size === 0) this.listeners.delete(type);
    this.changed();
  }

  /** Listeners per event type (types without listeners are absent). */
  listenerCounts(): Map<string, number> {
    return new Map([...this.listeners].map(([type, set]) => [type, set.size]));
  }

  /** Calls `callback` after every listener added or removed; returns the unsubscribe. */
  onListenersChanged(callback: () => void): () => void {
    this.watchers.add(callback);
    return () => this.watchers.delete(callback);
  }

  private changed(): void {
    for (const watcher of this.watchers) watcher();
  }

  /** Delivers a received event under its type and its routed types, to whoever listens there. */
  private deliver(type: string, detail: unknown): void {
    if (this.listeners.has(type)) super.dispatchEvent(new CustomEvent(type, { detail }));
    for (const key of this.options.route?.(type, detail) ?? []) {
      const routed = `${type}:${key}`;
      if (this.listeners.has(routed)) super.dispatchEvent(new CustomEvent(routed, { detail }));
    }
  }

  async start(): Promise<void> {
    await this.connectListener();
    this.sender = await this.newClient('sender');
  }

  override dispatchEvent(event: Event): boolean {
    const detail = (event as CustomEvent<unknown>).detail;
    const payload = JSON.stringify({ t: event.type, d: detail } satisfies Wire);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
      this.logger.error(
        { topic: event.type, bytes: Buffer.byteLength(payload) },
        'event too large for NOTIFY, dropped',
      );
      return false;
    }
    this.queued.push({ payload, topic: event.type });
    if (this.queued.length === 1) this.sending = this.sending.then(() => this.sendQueued());
    return true;
  }

  /**
   * Sends what was dispatched since the previous statement, in order, as one statement: events
   * that pile up while one is on its way (four repositories changing phase at once) cost one round
   * trip, and none waits for a timer. One statement is one transaction, in which PostgreSQL drops
   * an exact duplicate of a payload: the same event twice says nothing more.
   */
  private async sendQueued(): Promise<void> {
    const batch = this.queued.splice(0, MAX_EVENTS_PER_STATEMENT);
    if (this.queued.length > 0) this.sending = this.sending.then(() => this.sendQueued());
    if (this.closed || batch.length === 0) return;
    try {
      if (!this.sender) this.sender = await this.newClient('sender');
      const calls = batch.map((_, k) => `pg_notify($1, $${k + 2})`).join(', ');
      await this.sender.query(`SELECT ${calls}`, [EVENTS_CHANNEL, ...batch.map((e) => e.payload)]);
    } catch (error) {
      this.logger.warn({ err: error, topics: [...new Set(batch.map((e) => e.topic))] }, 'events not published');
      this.sender?.end().catch(() => undefined);
      this.sender = null;
    }
  }

  /** Resolves when every event dispatched so far has been handed to PostgreSQL. */
  flush(): Promise<unknown> {
    return this.sending;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await Promise.all(
      [this.listener, this.sender].map((client) => client?.end().catch(() => undefined) ?? Promise.resolve()),
    );
    this.listener = null;
    this.sender = null;
  }

  private async connectListener(): Promise<void> {
    const client = await this.newClient('listener');
    client.on('notification', (message) => {
      if (message.channel !== EVENTS_CHANNEL || !message.payload) return;
      try {
        const wire = JSON.parse(message.payload) as Wire;
        this.deliver(wire.t, wire.d);
      } catch (error) {
        this.logger.warn({ err: error }, 'unreadable event ignored');
      }
    });
    client.on('end', () => {
      if (!this.closed) this.scheduleReconnect();
    });
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    this.listener = client;
    this.reconnectDelayMs = 250;
  }

  private scheduleReconnect(): void {
    this.listener = null;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 10_000);
    this.logger.warn({ delayMs: delay }, 'event listener disconnected, reconnecting');
    setTimeout(() => {
      if (this.closed) return;
      this.connectListener().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'event listener reconnect failed');
        this.scheduleReconnect();
      });
    }, delay).unref();
  }

  private async newClient(role: string): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: `labkeeper-events-${role}`,
    });
    client.on('error', (error) => this.logger.warn({ err: error, role }, 'event client error'));
    await client.connect();
    return client;
  }
}
