import type { GitLabAccess } from './gitlab.port.js';
import { GitLabHttp, type GitLabHttpOptions } from './gitlab-http.js';
import { normalizeInstanceUrl } from './instance-url.js';

/** Options of the gitbeaker factories (API client, metadata reader, metadata writer). */
export interface GitbeakerClientFactoryOptions extends GitLabHttpOptions {
  /** The application's one transport; without it the factory makes its own from these options. */
  http?: GitLabHttp;
}

/**
 * What the GitLab factories share: the one transport (retries, deadlines, custom CAs — given, or
 * made from the options), one product per access (token + instance), and `close()`, which destroys
 * the keep-alive agents of custom CAs (optional at shutdown: idle sockets keep no process alive).
 */
export abstract class GitLabFactory<T> {
  protected readonly http: GitLabHttp;

  constructor(options: GitbeakerClientFactoryOptions = {}) {
    this.http = GitLabHttp.of(options);
  }

  /** Throws VALIDATION_FAILED when the instance URL is not an http(s) URL without credentials. */
  create(access: GitLabAccess): T {
    return this.build(normalizeInstanceUrl(access.instanceUrl), access);
  }

  close(): void {
    this.http.close();
  }

  /** The product for `access` on `host` (normalized). */
  protected abstract build(host: string, access: GitLabAccess): T;
}
