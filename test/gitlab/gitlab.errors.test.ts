import { describe, expect, it } from '@jest/globals';
import { GitbeakerRequestError, GitbeakerRetryError, GitbeakerTimeoutError } from '@gitbeaker/rest';
import { redactSecrets, redactUrl, toGitLabError } from '../../server/src/gitlab/gitlab.errors.js';
import { backoffMs, requestedDelayMs } from '../../server/src/gitlab/retry-policy.js';
import { DomainError } from '../../server/src/shared/errors.js';

/** A GitbeakerRequestError exactly as gitbeaker's own requester throws it (body already read). */
function gitbeakerError(status: number, json: Record<string, unknown>, headers: Record<string, string> = {}) {
  const said = json.error ?? json.message;
  const description = typeof said === 'string' ? said : '';
  return new GitbeakerRequestError(description, {
    cause: {
      description,
      request: new Request('https://gitlab.example.com/api/v4/user'),
      response: new Response(null, { status, headers: { 'content-type': 'application/json', ...headers } }),
    },
  });
}

describe('toGitLabError', () => {
  describe('errors thrown by gitbeaker’s own requester', () => {
    it('reads the 401 reason from WWW-Authenticate when only the description survived', () => {
      const error = toGitLabError(
        gitbeakerError(
          401,
          { error: 'invalid_token' },
          {
            'www-authenticate':
              'Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="Token was revoked. You have to re-authorize from the user."',
          },
        ),
      );

      expect(error).toMatchObject({ code: 'GITLAB_UNAUTHORIZED', details: { reason: 'revoked' } });
    });

    it('maps 404 to GITLAB_NOT_FOUND with GitLab’s message', () => {
      const error = toGitLabError(gitbeakerError(404, { message: '404 Project Not Found' }));

      expect(error).toMatchObject({ code: 'GITLAB_NOT_FOUND', retryable: false });
      expect(error.message).toContain('404 Project Not Found');
    });

    it('maps 503 to a retryable GITLAB_UNAVAILABLE', () => {
      expect(toGitLabError(gitbeakerError(503, { message: 'down' }))).toMatchObject({
        code: 'GITLAB_UNAVAILABLE',
        retryable: true,
      });
    });

    it('maps a 422 to GITLAB_BAD_RESPONSE', () => {
      expect(toGitLabError(gitbeakerError(422, { message: 'bad' })).code).toBe('GITLAB_BAD_RESPONSE');
    });

    it('maps its timeout to a retryable GITLAB_UNAVAILABLE', () => {
      expect(toGitLabError(new GitbeakerTimeoutError('Query timeout was reached'))).toMatchObject({
        code: 'GITLAB_UNAVAILABLE',
        retryable: true,
        details: { timeout: true },
      });
    });

    it('maps its exhausted 429 retries to GITLAB_RATE_LIMITED', () => {
      const error = toGitLabError(
        new GitbeakerRetryError(
          'Could not successfully complete this request after 10 retries, last status code: 429. Check the applicable rate limits for this endpoint.',
        ),
      );

      expect(error).toMatchObject({ code: 'GITLAB_RATE_LIMITED', retryable: true });
    });
  });

  describe('network failures', () => {
    it('maps fetch’s TypeError with a reset cause to a retryable GITLAB_UNAVAILABLE', () => {
      const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

      const error = toGitLabError(new TypeError('fetch failed', { cause: reset }));

      expect(error).toMatchObject({
        code: 'GITLAB_UNAVAILABLE',
        retryable: true,
        details: { networkError: 'ECONNRESET' },
      });
    });

    it('treats an unknown host as not worth retrying', () => {
      const error = toGitLabError(
        Object.assign(new Error('getaddrinfo ENOTFOUND gitlab.invalid'), { code: 'ENOTFOUND' }),
      );

      expect(error).toMatchObject({ code: 'GITLAB_UNAVAILABLE', retryable: false });
    });
  });

  it('passes a DomainError through unchanged', () => {
    const original = new DomainError('GITLAB_NOT_FOUND', 'gone');

    expect(toGitLabError(original)).toBe(original);
  });

  it('names an unexpected failure GITLAB_BAD_RESPONSE without leaking a token from its message', () => {
    const error = toGitLabError(new Error('boom at https://gitlab.example.com/api/v4/user?private_token=glpat-XYZ'));

    expect(error.code).toBe('GITLAB_BAD_RESPONSE');
    expect(error.message).not.toContain('glpat-XYZ');
  });
});

describe('redacting', () => {
  it('strips token query parameters and userinfo from URLs', () => {
    const url = redactUrl(
      'https://oauth2:secret@gitlab.example.com/api/v4/projects?private_token=abc&access_token=def&page=2',
    );

    expect(url).toBe(
      'https://gitlab.example.com/api/v4/projects?private_token=[redacted]&access_token=[redacted]&page=2',
    );
  });

  it('strips credentials from free text', () => {
    const text = redactSecrets('GET https://u:p@host/x?access_token=abc&per_page=100 failed; body client_secret=s3');

    expect(text).toBe(
      'GET https://[redacted]@host/x?access_token=[redacted]&per_page=100 failed; body client_secret=[redacted]',
    );
  });
});

describe('requestedDelayMs', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads Retry-After in seconds', () => {
    expect(requestedDelayMs({ 'retry-after': '7' }, now)).toBe(7000);
  });

  it('reads Retry-After as an HTTP date', () => {
    expect(requestedDelayMs({ 'retry-after': 'Thu, 01 Jan 2026 00:01:00 GMT' }, now)).toBe(60_000);
  });

  it('falls back to GitLab’s RateLimit-Reset Unix time', () => {
    expect(requestedDelayMs({ 'ratelimit-reset': String(now / 1000 + 20) }, now)).toBe(20_000);
  });

  it('returns null when GitLab names no time', () => {
    expect(requestedDelayMs({}, now)).toBeNull();
  });
});

describe('backoffMs', () => {
  it('doubles from the base and stays within the cap, jitter included', () => {
    const options = { baseDelayMs: 100, maxDelayMs: 1000 };

    expect(backoffMs({ ...options, random: () => 0 }, 1)).toBe(50);
    expect(backoffMs({ ...options, random: () => 0.999999 }, 1)).toBe(100);
    expect(backoffMs({ ...options, random: () => 0 }, 3)).toBe(200);
    expect(backoffMs({ ...options, random: () => 0.999999 }, 10)).toBe(1000);
  });
});
