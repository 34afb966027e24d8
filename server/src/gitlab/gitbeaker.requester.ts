/**
 * Our `requesterFn` for @gitbeaker/rest: gitbeaker builds endpoints, query options and follows
 * pagination `Link` headers; every single HTTP exchange comes through here.
 *
 * gitbeaker 43's default requester is replaced rather than wrapped, deliberately:
 * - it retries 429 and 502 up to 10 times with waits of 0.25 ms·2^i (≈ 0.25 s in all), ignores
 *   Retry-After, and then throws GitbeakerRetryError, which has lost the status and headers;
 * - gitbeaker's `queryTimeout` makes one AbortSignal per method call, shared by every page of a
 *   listing, so a long listing (or a honoured Retry-After) would hit it; we pass
 *   `queryTimeout: null` and give each attempt its own deadline instead;
 * - its `agent` option becomes fetch's undici `dispatcher`, and Node 20 offers no undici Agent to
 *   carry a custom CA (see http-transport.ts);
 * - its client-side rate limiter (rate-limiter-flexible, 3000 requests/min per endpoint) never
 *   runs, because it lives in the default `createRequesterFn`: GitLab's own 429 + Retry-After is
 *   the authority, and honouring it here is enough.
 * With an `access`, its token is read at each request (not fixed when the client was made) and a
 * 401 renews it once through `access.renew` (the OAuth refresh) before the request is sent again.
 * Failed answers are thrown as GitbeakerRequestError, shaped as gitbeaker shapes them plus the
 * parsed `body`, and translated by gitlab.errors.ts once retries are spent.
 */
import { GitbeakerRequestError, type Groups } from '@gitbeaker/rest';
import type { GitLabAccess } from './gitlab.port.js';
import { badPayload, redactUrl, toGitLabError } from './gitlab.errors.js';
import type { HttpAnswer, HttpTransport } from './http-transport.js';
import { judgeFailure, judgeStatus, withRetries, type ResolvedRetryOptions } from './retry-policy.js';

type GitbeakerOptions = NonNullable<ConstructorParameters<typeof Groups>[0]>;
export type RequesterFn = NonNullable<GitbeakerOptions['requesterFn']>;
type ResourceOptions = Parameters<RequesterFn>[0];
type Requester = ReturnType<RequesterFn>;
type RequestOptions = NonNullable<Parameters<Requester['get']>[1]>;

/** A successful answer, as seen by an observer (used to report listing progress per page). */
export interface ObservedAnswer {
  method: string;
  url: URL;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface RequesterDeps {
  transport: HttpTransport;
  retry: ResolvedRetryOptions;
  requestTimeoutMs: number;
  /** Whose token signs the requests (read at each request, renewed on 401). */
  access?: GitLabAccess;
  /** Called after every successful exchange, before gitbeaker sees it. May throw to abort. */
  onAnswer?: (answer: ObservedAnswer) => void;
}

export function createRequesterFn(deps: RequesterDeps): RequesterFn {
  return (service: ResourceOptions) => {
    const send = (method: string) => (endpoint: string, options?: RequestOptions) =>
      exchange(deps, service, method, endpoint, options ?? {});
    const requester = {
      get: send('GET'),
      post: send('POST'),
      put: send('PUT'),
      patch: send('PATCH'),
      delete: send('DELETE'),
    };
    return requester as unknown as Requester;
  };
}

async function exchange(
  deps: RequesterDeps,
  service: ResourceOptions,
  method: string,
  endpoint: string,
  options: RequestOptions,
): Promise<{ body: unknown; headers: Record<string, string>; status: number }> {
  const base = service.url.endsWith('/') ? service.url : `${service.url}/`;
  const url = new URL(endpoint, base);
  url.search = formatQuery(options.searchParams ?? {});
  const operation = `${method} ${redactUrl(url)}`;

  const headers: Record<string, string> = { accept: 'application/json', ...service.headers };
  for (const [name, value] of Object.entries(service.authHeaders)) headers[name] = await value();
  if (options.sudo !== undefined) headers.sudo = String(options.sudo);
  let body: string | undefined;
  if (options.body !== undefined) {
    if (options.body instanceof FormData) throw new Error('multipart bodies are not supported by this requester');
    body = JSON.stringify(decamelizeKeys(options.body));
    headers['content-type'] = 'application/json';
  }

  const idempotent = method === 'GET' || method === 'PUT' || method === 'DELETE';
  const { access } = deps;
  const send = async () => {
    const token = access?.token;
    if (access) signWith(headers, access);
    const sent = await withRetries<HttpAnswer>(
      deps.retry,
      operation,
      () => deps.transport({ method, url, headers, body, timeoutMs: deps.requestTimeoutMs }),
      (result) =>
        'error' in result
          ? judgeFailure(result.error, idempotent)
          : judgeStatus(result.value.status, result.value.headers, idempotent, deps.retry.now()),
    );
    return { ...sent, token };
  };
  let sent = await send();
  if ('value' in sent.outcome && sent.outcome.value.status === 401 && access?.renew && sent.token !== undefined) {
    // GitLab rejected a token it should still accept: renew it once (the OAuth refresh) and resend.
    await access.renew(sent.token);
    sent = await send();
  }
  const { outcome, attempts } = sent;
  if ('error' in outcome) throw toGitLabError(outcome.error, { operation, attempts });

  const answer = outcome.value;
  const parsed = parseBody(answer, operation);
  if (answer.status < 200 || answer.status >= 300) {
    throw toGitLabError(requestError(method, url, answer, parsed), { operation, attempts });
  }
  deps.onAnswer?.({ method, url, status: answer.status, headers: answer.headers, body: parsed });
  return { body: parsed, headers: answer.headers, status: answer.status };
}

/** The access's current token, as gitbeaker would send it (Bearer for OAuth, PRIVATE-TOKEN for a PAT). */
function signWith(headers: Record<string, string>, access: GitLabAccess): void {
  for (const name of Object.keys(headers)) {
    if (['authorization', 'private-token'].includes(name.toLowerCase())) delete headers[name];
  }
  if (access.tokenType === 'oauth') headers.authorization = `Bearer ${access.token}`;
  else headers['private-token'] = access.token;
}

function parseBody(answer: HttpAnswer, operation: string): unknown {
  if (answer.status === 204 || answer.text === '') return null;
  const type = (answer.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      return JSON.parse(answer.text);
    } catch {
      if (answer.status >= 200 && answer.status < 300) {
        throw badPayload('its JSON body could not be parsed', { operation });
      }
      return answer.text;
    }
  }
  return answer.text;
}

/** Shaped as gitbeaker's own (description + Request + Response), without our auth headers. */
function requestError(method: string, url: URL, answer: HttpAnswer, body: unknown): GitbeakerRequestError {
  const record = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : null;
  const said = record?.error ?? record?.message ?? (typeof body === 'string' ? body : '');
  const description = typeof said === 'string' ? said : JSON.stringify(said);
  const canHaveBody = answer.status >= 200 && ![204, 205, 304].includes(answer.status);
  const cause = {
    description,
    request: new Request(redactUrl(url), { method }),
    response: new Response(canHaveBody ? answer.text : null, { status: answer.status, headers: answer.headers }),
    body,
  };
  return new GitbeakerRequestError(description || `HTTP ${answer.status}`, { cause });
}

/** Query string as gitbeaker's default requester builds it: snake_case keys, arrays as `k[]=v`. */
export function formatQuery(params: Record<string, unknown>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    const name = decamelize(key);
    if (Array.isArray(value)) for (const item of value) query.append(`${name}[]`, String(item));
    else if (typeof value === 'object') query.append(name, JSON.stringify(value));
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      query.append(name, String(value));
    } // (functions and symbols have no query form: gitbeaker's options never hold them)
  }
  return query.toString();
}

function decamelize(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function decamelizeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decamelizeKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [decamelize(k), decamelizeKeys(v)]));
}
