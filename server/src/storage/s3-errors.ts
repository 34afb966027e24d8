/**
 * Translates what the AWS SDK throws into DomainErrors an operator can read, at the adapter (as
 * gitlab/ does for GitLab). Nothing of the request (signatures, keys) is copied into the message:
 * only the S3 error code, the HTTP status and a sentence for the usual causes.
 */
import { DomainError } from '../shared/errors.js';

interface SdkError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** Plain words for the S3 error codes and network failures an operator meets when setting up a storage. */
const REASONS: Record<string, string> = {
  NoSuchBucket: 'the bucket does not exist',
  InvalidAccessKeyId: 'the access key id is not known to the server',
  SignatureDoesNotMatch: 'the secret access key is wrong (the request signature does not match)',
  AccessDenied: 'access denied: the credentials lack a permission this operation needs',
  AllAccessDisabled: 'all access to this bucket has been disabled',
  InvalidBucketName: 'the bucket name is not valid',
  PermanentRedirect: 'the bucket is in another region (or needs another endpoint)',
  AuthorizationHeaderMalformed: 'the region does not match the bucket (or the endpoint)',
  SlowDown: 'the server asks to slow down (throttling)',
  ServiceUnavailable: 'the server is unavailable',
  InternalError: 'the server had an internal error',
  NotImplemented: 'the server does not implement this operation',
  InvalidStorageClass: 'the storage class is not valid for this server',
  ObjectLockConfigurationNotFoundError: 'the bucket has no Object Lock configuration',
  ECONNREFUSED: 'the connection was refused (is the endpoint right?)',
  ENOTFOUND: 'the endpoint host name does not resolve',
  EAI_AGAIN: 'the endpoint host name does not resolve (DNS failed)',
  ECONNRESET: 'the server closed the connection',
  ETIMEDOUT: 'the connection timed out',
  EPIPE: 'the server closed the connection',
  TimeoutError: 'the request timed out',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server certificate cannot be verified',
};

/** Codes that retrying will not fix until an operator changes a setting. */
const PERMANENT = new Set([
  'NoSuchBucket',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidBucketName',
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'NotImplemented',
  'InvalidStorageClass',
  'ENOTFOUND',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/** The S3 error code (`NoSuchKey`), or the network error code (`ECONNREFUSED`), of an SDK failure. */
export function s3ErrorCode(error: unknown): string {
  const e = error as SdkError | undefined;
  if (!e || typeof e !== 'object') return 'Unknown';
  const status = e.$metadata?.httpStatusCode;
  // HEAD responses carry no body, so the SDK names them after the status.
  if (e.name === 'NotFound' || (status === 404 && e.name === 'Unknown')) return 'NotFound';
  if (e.Code) return e.Code;
  if (e.code && /^[A-Z_]+$/.test(e.code)) return e.code;
  const nested = (e as { cause?: unknown }).cause;
  if (nested && typeof nested === 'object' && typeof (nested as SdkError).code === 'string')
    return (nested as SdkError).code!;
  // Network failures reach us wrapped ("AWS SDK error wrapper for Error: connect ECONNREFUSED …").
  const errno = /\b(E[A-Z]{2,}[A-Z_]*)\b/.exec(e.message ?? '')?.[1];
  if (errno && errno in REASONS) return errno;
  return e.name ?? 'Unknown';
}

export function s3Status(error: unknown): number | undefined {
  return (error as SdkError | undefined)?.$metadata?.httpStatusCode;
}

export const isNotFound = (error: unknown) => {
  const code = s3ErrorCode(error);
  return code === 'NoSuchKey' || code === 'NotFound';
};

export const isPreconditionFailed = (error: unknown) =>
  s3ErrorCode(error) === 'PreconditionFailed' || s3Status(error) === 412;

/** Whether the server named its error (HEAD responses have no body, so their errors carry only a status). */
export const isUnnamed = (error: unknown) =>
  ['Unknown', 'Forbidden', 'BadRequest', 'MovedPermanently'].includes(s3ErrorCode(error));

/** A sentence for an operator: "the bucket does not exist (NoSuchBucket, HTTP 404)". */
export function s3Reason(error: unknown): string {
  const code = s3ErrorCode(error);
  const status = s3Status(error);
  const words = REASONS[code] ?? 'the server refused the request';
  return `${words} (${code}${status ? `, HTTP ${status}` : ''})`;
}

/** STORAGE_UNAVAILABLE for an S3 failure (DomainErrors pass through), retryable unless a setting is wrong. */
export function s3Unavailable(operation: string, key: string, cause: unknown): DomainError {
  if (cause instanceof DomainError) return cause;
  const code = s3ErrorCode(cause);
  const status = s3Status(cause);
  return new DomainError(
    'STORAGE_UNAVAILABLE',
    `storage ${operation} failed for ${key || '(root)'}: ${s3Reason(cause)}`,
    {
      details: { operation, key, s3Code: code, ...(status ? { httpStatus: status } : {}) },
      retryable: !PERMANENT.has(code) && status !== 403,
      cause,
    },
  );
}
