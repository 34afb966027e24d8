import { validationError } from '../shared/errors.js';

export const GITLAB_COM = 'https://gitlab.com';

/** Normalises a GitLab instance URL (scheme + host + optional path prefix, no trailing slash). */
export function normaliseInstanceUrl(raw: string | null | undefined, field = 'instanceUrl'): string {
  const value = (raw ?? GITLAB_COM).trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw validationError({ [field]: 'must be a URL such as https://gitlab.example.com' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw validationError({ [field]: 'must use https (or http)' });
  if (url.username || url.password) throw validationError({ [field]: 'must not contain credentials' });
  if (url.search || url.hash) throw validationError({ [field]: 'must not contain a query or fragment' });
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
