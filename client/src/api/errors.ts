/**
 * Errors as the API reports them (STYLE.md): `extensions.code` (BAD_USER_INPUT, NOT_FOUND, …) and,
 * for invalid input, `extensions.fields` mapping a path such as `input.personalAccessToken` to a
 * message. Forms show those beside the inputs; everything else is one message at the top.
 */
import type { CombinedError } from 'urql';

export interface ProblemReport {
  /** Shown above the form (or instead of the screen). */
  message: string | null;
  /** By input path, without the leading `input.`. */
  fields: Record<string, string>;
  code: string | null;
  /** The precise domain code (`extensions.reason`), e.g. WRITE_AUTHORIZATION_REQUIRED. */
  reason: string | null;
  /** `extensions.details`, e.g. the connectionId a write authorization is needed for. */
  details: Record<string, unknown>;
}

export function problemOf(error: CombinedError | undefined | null): ProblemReport {
  if (!error) return { message: null, fields: {}, code: null, reason: null, details: {} };
  if (error.networkError && error.graphQLErrors.length === 0) {
    return {
      message: 'Labkeeper cannot be reached. Check that the server is running.',
      fields: {},
      code: 'NETWORK',
      reason: null,
      details: {},
    };
  }
  const first = error.graphQLErrors[0];
  const extensions = (first?.extensions ?? {}) as {
    code?: string;
    reason?: string;
    fields?: Record<string, string>;
    details?: Record<string, unknown>;
  };
  const fields: Record<string, string> = {};
  for (const [path, message] of Object.entries(extensions.fields ?? {})) {
    fields[path.replace(/^input\./, '')] = message;
  }
  const hasFieldErrors = Object.keys(fields).length > 0;
  return {
    message: hasFieldErrors ? 'Some fields need attention.' : (first?.message ?? error.message),
    fields,
    code: extensions.code ?? null,
    reason: extensions.reason ?? null,
    details: extensions.details ?? {},
  };
}
