/**
 * Rate limiting and fault injection.
 *
 * GitLab's throttles (Rack::Attack; lib/gitlab/rack_attack/request_throttle_data.rb) report
 * RateLimit-Name, RateLimit-Limit (normalised to 60 s), RateLimit-Observed, RateLimit-Remaining
 * and RateLimit-Reset (epoch seconds); a throttled request gets 429 with those plus Retry-After
 * and RateLimit-ResetTime (HTTP date), and the plain-text body "Retry later\n"
 * (doc/administration/settings/user_and_ip_rate_limits.md "Response text"). Windows are aligned
 * to the epoch: retry_after = period - (now % period).
 */
import type { Response } from 'express';

export interface RateLimitOptions {
  /** Requests allowed per period per user (or per IP when anonymous). Default 2000, GitLab.com's authenticated API limit. */
  limit: number;
  periodSeconds: number;
}

interface Fault {
  remaining: number;
  status: number;
  pathPattern: RegExp;
}

/** Every `every`-th matching request fails (deterministic "N % of requests"). */
interface PeriodicFault {
  every: number;
  seen: number;
  status: number;
  pathPattern: RegExp;
}

interface ForcedThrottle {
  remaining: number;
  retryAfterSeconds: number;
  pathPattern: RegExp;
}

/** Git over HTTP throttled for a stretch of time (the limit spent for every period in it). */
interface GitThrottleWindow {
  /** Until when (ms since the epoch, simulator clock). */
  untilMs: number;
  periodSeconds: number;
  pathPattern: RegExp;
}

interface ResetFault {
  remaining: number;
  afterBytes: number;
  pathPattern: RegExp;
}

/** A byte of a pack flipped on its way to the client (see Faults.corruptNext). */
interface CorruptFault {
  remaining: number;
  packOffset: number;
  pathPattern: RegExp;
}

export const API_PATH = /^\/api\/v4\//;

/** A response held back after its request was handled (see Faults.holdNext). */
export interface HeldResponse {
  /** Resolves when a matching request has been handled (its effects are in the state) and its response is held. */
  reached: Promise<{ method: string; path: string }>;
  /** Sends the held response (harmless when the client has gone away meanwhile). */
  release(): void;
}

interface Hold {
  method: string | null;
  pathPattern: RegExp;
  skip: number;
  armed: boolean;
  reached: (request: { method: string; path: string }) => void;
  send: (() => void) | null;
  released: boolean;
}

export class Faults {
  private readonly faults: Fault[] = [];
  private readonly periodic: PeriodicFault[] = [];
  private readonly throttles: ForcedThrottle[] = [];
  private readonly gitWindows: GitThrottleWindow[] = [];
  private readonly resets: ResetFault[] = [];
  private readonly corruptions: CorruptFault[] = [];
  private readonly counters = new Map<string, { window: number; count: number }>();
  private readonly holds: Hold[] = [];

  constructor(
    private readonly options: RateLimitOptions | null,
    private readonly now: () => Date,
  ) {}

  failNext(count: number, options: { /** 500, 502, 503… */ status: number; pathPattern?: RegExp }): void {
    this.faults.push({ remaining: count, status: options.status, pathPattern: options.pathPattern ?? API_PATH });
  }

  /** Every `every`-th matching request from now on fails with `status` (every: 10 → 10 % of them); 0 stops it. */
  failEvery(every: number, options: { status: number; pathPattern: RegExp }): void {
    const existing = this.periodic.findIndex((f) => String(f.pathPattern) === String(options.pathPattern));
    if (existing >= 0) this.periodic.splice(existing, 1);
    if (every > 0) this.periodic.push({ every, seen: 0, status: options.status, pathPattern: options.pathPattern });
  }

  rateLimitNext(count: number, options: { retryAfterSeconds?: number; pathPattern?: RegExp } = {}): void {
    this.throttles.push({
      remaining: count,
      retryAfterSeconds: options.retryAfterSeconds ?? 60,
      pathPattern: options.pathPattern ?? API_PATH,
    });
  }

  /**
   * Every matching git request for the next `durationMs` (simulator clock) is throttled, as when
   * the Git HTTP limit is spent in every period of that stretch: 429 with Retry-After naming the
   * end of the current period (Rack::Attack's `period - now % period`, periods aligned to the
   * epoch), so a client that honours it retries once per period until the stretch is over.
   */
  throttleGitFor(durationMs: number, options: { pathPattern: RegExp; periodSeconds?: number }): void {
    this.gitWindows.push({
      untilMs: this.now().getTime() + durationMs,
      periodSeconds: options.periodSeconds ?? 60,
      pathPattern: options.pathPattern,
    });
  }

  /**
   * The next `count` matching responses longer than `afterBytes` are cut off (TCP reset) there.
   * Shorter ones (git protocol v2's ls-refs before the fetch, say) pass and do not count.
   */
  resetNext(count: number, options: { pathPattern: RegExp; afterBytes?: number }): void {
    this.resets.push({
      remaining: count,
      afterBytes: options.afterBytes ?? 64 * 1024,
      pathPattern: options.pathPattern,
    });
  }

  /**
   * The response to the next matching request (after `skip` matching ones pass) is held back
   * once the handler has done its work: GitLab has created the issue, say, but the client has
   * not heard so. A test can then kill the client at exactly that point (the window between a
   * create and the client recording it). One request per call.
   */
  holdNext(options: { pathPattern: RegExp; method?: string; skip?: number }): HeldResponse {
    let reached!: Hold['reached'];
    const promise = new Promise<{ method: string; path: string }>((resolve) => (reached = resolve));
    const hold: Hold = {
      method: options.method?.toUpperCase() ?? null,
      pathPattern: options.pathPattern,
      skip: options.skip ?? 0,
      armed: true,
      reached,
      send: null,
      released: false,
    };
    this.holds.push(hold);
    return {
      reached: promise,
      release() {
        hold.released = true;
        hold.armed = false;
        const send = hold.send;
        hold.send = null;
        send?.();
      },
    };
  }

  /** Arms a matching request's response to be held (holdNext). */
  injectHold(method: string, path: string, res: Response): void {
    const hold = this.holds.find(
      (h) => h.armed && (h.method === null || h.method === method) && h.pathPattern.test(path),
    );
    if (!hold) return;
    if (hold.skip > 0) {
      hold.skip -= 1;
      return;
    }
    hold.armed = false;
    // Everything the handler sends is kept back (a client reading a streamed body to its last
    // pkt-line must not get it either) until release, then sent in order.
    const queued: (() => void)[] = [];
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => Response;
    (res as unknown as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
      if (hold.released) return write(...args);
      queued.push(() => void write(...args));
      return true;
    };
    (res as unknown as { end: (...args: unknown[]) => Response }).end = (...args: unknown[]) => {
      if (hold.released) return end(...args);
      hold.send = () => {
        for (const send of queued.splice(0)) send();
        end(...args);
      };
      hold.reached({ method, path });
      return res;
    };
  }

  /** Arms a matching response to drop its connection part-way, as a network failure mid-transfer does. */
  injectReset(path: string, res: Response): void {
    const fault = this.resets.find((f) => f.remaining > 0 && f.pathPattern.test(path));
    if (!fault) return;
    let sent = 0;
    const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
    (res as unknown as { write: typeof write }).write = (chunk: unknown, ...rest: unknown[]) => {
      const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Buffer).length;
      if (sent + size > fault.afterBytes && fault.remaining > 0) {
        fault.remaining -= 1;
        const head = fault.afterBytes - sent;
        if (head > 0) write(Buffer.from(chunk as Buffer).subarray(0, head));
        // A TCP reset where Node has it (20.12+), else a plain close.
        if (res.socket?.resetAndDestroy) res.socket.resetAndDestroy();
        else res.socket?.destroy();
        return false;
      }
      sent += size;
      return write(chunk, ...rest);
    };
  }

  /**
   * The next `count` matching git responses whose pack (side band 1 of a protocol v2 fetch reply)
   * reaches `packOffset` bytes have that byte of the pack flipped, as a faulty proxy, NIC or disk
   * would: the response is otherwise whole and well framed, so only the pack's own checksum (or
   * git checking its objects) can tell. Responses with a shorter pack pass and do not count.
   */
  corruptNext(count: number, options: { pathPattern: RegExp; packOffset: number }): void {
    this.corruptions.push({ remaining: count, packOffset: options.packOffset, pathPattern: options.pathPattern });
  }

  /** Arms a matching response to flip one byte of its pack (pkt-lines are followed to find it). */
  injectCorruption(path: string, res: Response): void {
    const fault = this.corruptions.find((f) => f.remaining > 0 && f.pathPattern.test(path));
    if (!fault) return;
    // pkt-line framing: 4 hex digits of length (header included; 0000-0002 are special), then data
    // whose first byte is the side band; band 1 carries the pack.
    let header = '';
    let left = 0; // data bytes left in the current pkt-line
    let atBand = false; // the next data byte is the band
    let band = 0;
    let packBytes = 0;
    let done = false;
    const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
    (res as unknown as { write: typeof write }).write = (chunk: unknown, ...rest: unknown[]) => {
      if (done || typeof chunk === 'string') return write(chunk, ...rest);
      const bytes = Buffer.from(chunk as Uint8Array);
      for (let i = 0; i < bytes.length && !done;) {
        if (left === 0) {
          header += String.fromCharCode(bytes[i++]);
          if (header.length < 4) continue;
          const length = parseInt(header, 16);
          header = '';
          left = length > 4 ? length - 4 : 0;
          atBand = left > 0;
          continue;
        }
        if (atBand) {
          band = bytes[i++];
          atBand = false;
          left -= 1;
          continue;
        }
        const n = Math.min(left, bytes.length - i);
        if (band === 1 && packBytes + n > fault.packOffset) {
          bytes[i + (fault.packOffset - packBytes)] ^= 0xff;
          fault.remaining -= 1;
          done = true;
        }
        packBytes += band === 1 ? n : 0;
        left -= n;
        i += n;
      }
      return write(bytes, ...rest);
    };
  }

  /** Answers the request with an injected failure and returns true, or returns false. */
  injectFailure(path: string, res: Response): boolean {
    const periodic = this.periodic.find((f) => f.pathPattern.test(path));
    if (periodic && ++periodic.seen % periodic.every === 0) return this.sendFailure(periodic.status, res);
    const fault = this.faults.find((f) => f.remaining > 0 && f.pathPattern.test(path));
    if (!fault) return false;
    fault.remaining -= 1;
    return this.sendFailure(fault.status, res);
  }

  private sendFailure(status: number, res: Response): boolean {
    const fault = { status };
    if (fault.status === 502) {
      // What the NGINX/Workhorse in front of GitLab sends when Puma is down.
      res
        .status(502)
        .type('text/html')
        .send(
          '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n',
        );
    } else if (fault.status === 503) {
      res
        .status(503)
        .type('text/html')
        .send('<html><body><h1>503 Service Unavailable</h1>GitLab is not responding.</body></html>\n');
    } else if (fault.status === 404) {
      // lib/api/helpers.rb not_found!
      res.status(404).json({ message: '404 Not Found' });
    } else {
      // lib/api/helpers.rb handle_api_exception
      res.status(fault.status).json({ message: `${fault.status} Internal Server Error` });
    }
    return true;
  }

  /**
   * Git over HTTP and LFS are throttled by Rack::Attack too (throttle_authenticated_git_http,
   * doc/administration/settings/git_http_rate_limits.md; "General user and IP rate limits aren't
   * applied to Git HTTP requests"), with the same 429 answer. Only injected throttles apply here.
   */
  throttleGit(path: string, res: Response): boolean {
    if (API_PATH.test(path)) return false;
    const nowMs = this.now().getTime();
    const window = this.gitWindows.find((w) => nowMs < w.untilMs && w.pathPattern.test(path));
    if (window) {
      const nowSeconds = Math.floor(nowMs / 1000);
      const retryAfter = window.periodSeconds - (nowSeconds % window.periodSeconds);
      this.sendThrottled(res, 'throttle_authenticated_git_http', 60, 61, 0, nowSeconds + retryAfter, retryAfter);
      return true;
    }
    const forced = this.throttles.find((t) => t.remaining > 0 && t.pathPattern.test(path));
    if (!forced) return false;
    forced.remaining -= 1;
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    this.sendThrottled(
      res,
      'throttle_authenticated_git_http',
      60,
      61,
      0,
      nowSeconds + forced.retryAfterSeconds,
      forced.retryAfterSeconds,
    );
    return true;
  }

  /**
   * Counts the request against the caller's throttle, sets the RateLimit-* headers and, when the
   * caller is over the limit (or a throttle was injected), answers 429 and returns true.
   */
  throttle(path: string, discriminator: string, authenticated: boolean, res: Response): boolean {
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    const forced = this.throttles.find((t) => t.remaining > 0 && t.pathPattern.test(path));
    const name = authenticated ? 'throttle_authenticated_api' : 'throttle_unauthenticated_api';
    if (forced) {
      forced.remaining -= 1;
      const limit = this.options?.limit ?? 2000;
      const period = this.options?.periodSeconds ?? 60;
      this.sendThrottled(
        res,
        name,
        Math.ceil((limit * 60) / period),
        limit + 1,
        0,
        nowSeconds + forced.retryAfterSeconds,
        forced.retryAfterSeconds,
      );
      return true;
    }
    if (!this.options || !API_PATH.test(path)) return false;
    const { limit, periodSeconds: period } = this.options;
    const window = Math.floor(nowSeconds / period);
    const counter = this.counters.get(discriminator);
    const entry = counter && counter.window === window ? counter : { window, count: 0 };
    entry.count += 1;
    this.counters.set(discriminator, entry);
    const retryAfter = period - (nowSeconds % period);
    const reset = nowSeconds + retryAfter;
    const rounded = Math.ceil((limit * 60) / period);
    if (entry.count > limit) {
      this.sendThrottled(res, name, rounded, entry.count, 0, reset, retryAfter);
      return true;
    }
    res.setHeader('RateLimit-Name', name);
    res.setHeader('RateLimit-Limit', String(rounded));
    res.setHeader('RateLimit-Observed', String(entry.count));
    res.setHeader('RateLimit-Remaining', String(Math.max(0, limit - entry.count)));
    res.setHeader('RateLimit-Reset', String(reset));
    return false;
  }

  private sendThrottled(
    res: Response,
    name: string,
    limit: number,
    observed: number,
    remaining: number,
    reset: number,
    retryAfter: number,
  ): void {
    res.setHeader('RateLimit-Name', name);
    res.setHeader('RateLimit-Limit', String(limit));
    res.setHeader('RateLimit-Observed', String(observed));
    res.setHeader('RateLimit-Remaining', String(remaining));
    res.setHeader('RateLimit-Reset', String(reset));
    res.setHeader('RateLimit-ResetTime', new Date(reset * 1000).toUTCString());
    res.setHeader('Retry-After', String(retryAfter));
    res.status(429).type('text/plain').send('Retry later\n');
  }
}
