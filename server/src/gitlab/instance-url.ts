import { validationError } from '../shared/errors.js';

/** `https://gitlab.example.com/` → `https://gitlab.example.com`; keeps a relative URL root (`/gitlab`). */
export function normalizeInstanceUrl(instanceUrl: string, field = 'instanceUrl'): string {
  let url: URL;
  try {
    url = new URL(instanceUrl);
  } catch {
    throw validationError({ [field]: 'must be an absolute http(s) URL' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw validationError({ [field]: 'must be an http(s) URL' });
  }
  if (url.username || url.password) throw validationError({ [field]: 'must not contain credentials' });
  if (url.search || url.hash) throw validationError({ [field]: 'must not contain a query or fragment' });
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
