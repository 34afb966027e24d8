/**
 * Throttles failed authentication per client address, for HTTP and WebSocket alike: after
 * `maxFailures` failed attempts within `windowMs`, every request from that address is answered
 * 429 (WebSocket: closed with 4429) until the oldest failure leaves the window. One warn line is
 * logged when an address becomes throttled, and `throttledTotal` counts refused requests.
 * In memory and per process: a restart forgets, which only ever helps a legitimate user.
 */
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';

/** Defaults: 20 failed attempts per minute and address (README, "Security"). */
export const AUTH_THROTTLE_DEFAULTS = { maxFailures: 20, windowMs: 60_000 } as const;
/** Bounds the memory an address-spraying client can make us hold. */
const MAX_TRACKED_ADDRESSES = 10_000;

export class AuthThrottle {
  private readonly failures = new Map<string, number[]>();
  /** Requests refused because their address was throttled (a counter for monitoring). */
  throttledTotal = 0;

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly limits: { maxFailures: number; windowMs: number } = AUTH_THROTTLE_DEFAULTS,
  ) {}

  /** Seconds until the address may try again, or null when it is not throttled. */
  retryAfterSeconds(address: string): number | null {
    const recent = this.recent(address);
    if (recent.length < this.limits.maxFailures) return null;
    this.throttledTotal++;
    const oldest = recent[recent.length - this.limits.maxFailures];
    return Math.max(1, Math.ceil((oldest + this.limits.windowMs - this.clock.now().getTime()) / 1000));
  }

  recordFailure(address: string): void {
    const recent = this.recent(address);
    recent.push(this.clock.now().getTime());
    if (!this.failures.has(address)) {
      if (this.failures.size >= MAX_TRACKED_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
      this.failures.set(address, recent);
    }
    if (recent.length === this.limits.maxFailures) {
      this.logger.warn(
        { clientAddress: address, failures: recent.length, windowMs: this.limits.windowMs },
        `authentication throttled: too many failed attempts (clientAddress=${address})`,
      );
    }
  }

  private recent(address: string): number[] {
    const list = this.failures.get(address);
    if (!list) return [];
    const since = this.clock.now().getTime() - this.limits.windowMs;
    while (list.length > 0 && list[0] <= since) list.shift();
    if (list.length === 0) this.failures.delete(address);
    return list;
  }
}
