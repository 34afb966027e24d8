import { describe, expect, it } from '@jest/globals';
import { fromFailedResponse } from '../../server/src/gitlab/gitlab.errors.js';
import { classifyMetadataError, metadataSkipOf } from '../../server/src/gitlab/metadata.errors.js';

describe('classifyMetadataError', () => {
  const epics = { type: 'epics', role: 'Guest', tier: 'premium' } as const;
  const hooks = { type: 'webhooks', role: 'Maintainer' } as const;
  const operation = 'GET https://gitlab.example.com/api/v4/groups/7/epics';

  describe('on a Premium-only type', () => {
    it('reads Community Edition’s unknown-route 404 as not available on this tier', () => {
      const error = classifyMetadataError(
        fromFailedResponse({ status: 404, headers: {}, body: { error: '404 Not Found' } }, { operation }),
        epics,
      );

      expect(metadataSkipOf(error)).toEqual({ kind: 'NOT_ON_TIER', reason: expect.stringContaining('no such API') });
      expect((error as Error).message).toContain(operation);
    });

    it('keeps a missing group a plain GITLAB_NOT_FOUND', () => {
      const error = classifyMetadataError(
        fromFailedResponse({ status: 404, headers: {}, body: { message: '404 Group Not Found' } }),
        epics,
      );

      expect(error).toMatchObject({ code: 'GITLAB_NOT_FOUND' });
      expect(metadataSkipOf(error)).toBeNull();
    });

    it('still names the scope when the token lacks it', () => {
      const body = { error: 'insufficient_scope', scope: 'api read_api' };

      const error = classifyMetadataError(fromFailedResponse({ status: 403, headers: {}, body }), epics);

      expect(metadataSkipOf(error)?.kind).toBe('TOKEN_SCOPE');
    });
  });

  describe('on any other type', () => {
    it('reads a plain 403 as an access skip naming the role', () => {
      const error = classifyMetadataError(
        fromFailedResponse({ status: 403, headers: {}, body: { message: '403 Forbidden' } }),
        hooks,
      );

      expect(metadataSkipOf(error)).toEqual({ kind: 'ACCESS_DENIED', reason: expect.stringContaining('Maintainer') });
    });

    it('leaves rate limits and outages alone, retryable as before', () => {
      const error = classifyMetadataError(fromFailedResponse({ status: 503, headers: {}, body: '' }), hooks);

      expect(error).toMatchObject({ code: 'GITLAB_UNAVAILABLE', retryable: true });
      expect(metadataSkipOf(error)).toBeNull();
    });
  });
});
