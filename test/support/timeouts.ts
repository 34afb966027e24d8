/**
 * How long a test waits for an event (a subscription message, a job's completion, a page element)
 * before failing with what it saw. A safety net against a hang, never a schedule: tests await
 * events, and a busy machine may be many times slower than a quiet one, so it is generous — and
 * the same everywhere, below jest's testTimeout (jest.config.js) so the event's own message wins.
 */
export const EVENT_TIMEOUT_MS = 5 * 60_000;
