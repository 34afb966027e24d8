/**
 * A connection's custom CA: one or more PEM "CERTIFICATE" blocks, each a parseable X.509
 * certificate. Anything else — a private key, a CSR, arbitrary text — is refused, so secrets pasted
 * by mistake are never stored in a plain column.
 */
import { X509Certificate } from 'node:crypto';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
const MAX_CERTIFICATES = 20;

/** What is wrong with the text as a CA bundle, or null. */
export function caCertificateProblem(text: string): string | null {
  const blocks = [...text.matchAll(BLOCK)];
  if (/PRIVATE KEY/.test(text))
    return 'contains a private key; paste only the CA certificate (PEM "BEGIN CERTIFICATE")';
  if (blocks.length === 0)
    return 'must be a PEM certificate ("-----BEGIN CERTIFICATE-----" … "-----END CERTIFICATE-----")';
  if (blocks.length > MAX_CERTIFICATES) return `may hold at most ${MAX_CERTIFICATES} certificates`;
  const leftover = text.replace(BLOCK, '').trim();
  if (leftover) return 'must contain only PEM certificates (text outside the certificate blocks)';
  for (const [block, label] of blocks) {
    if (label !== 'CERTIFICATE') return `must contain only certificates, not a ${label.toLowerCase()}`;
    try {
      new X509Certificate(block);
    } catch {
      return 'is not a valid X.509 certificate';
    }
  }
  return null;
}
