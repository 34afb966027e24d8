import { pino, type Logger as PinoLogger } from 'pino';

/**
 * One structured logger with a child per component: `logger.child({ component: 'sync', orgId })`.
 * Secrets must never be passed in; as a last net, keys that usually carry them are redacted.
 */
export type Logger = PinoLogger;

const REDACT = [
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.secret',
  '*.clientSecret',
  '*.password',
  '*.authorization',
  'req.headers.authorization',
];

export function createLogger(options: { level?: string; pretty?: boolean } = {}): Logger {
  return pino({
    level: options.level ?? 'info',
    base: { service: 'labkeeper' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A logger that writes nothing (tests inject it unless they assert on log lines). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A logger that keeps every line in memory, for tests that search logs for leaked secrets. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug', redact: { paths: REDACT, censor: '[redacted]' } },
    {
      write: (line: string) => {
        lines.push(line);
      },
    },
  );
  return { logger, lines };
}
