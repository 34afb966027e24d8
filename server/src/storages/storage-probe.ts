/**
 * testStorage's probe: writes, reads, lists and deletes one small object under the storage's
 * prefix, timing each step, and finds out whether the server honours `If-None-Match: *` (a second
 * conditional write of the probe key must be refused with 412). A failure becomes a
 * VALIDATION_FAILED naming the setting the server's answer points at, with its reason in words.
 */
import { randomUUID } from 'node:crypto';
import { GetObjectLockConfigurationCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { validationError, type DomainError } from '../shared/errors.js';
import { isPreconditionFailed, s3ErrorCode, s3Reason } from '../storage/s3-errors.js';
import type { S3Storage } from '../storage/s3-storage.js';

export interface ProbeResult {
  writeMs: number;
  readMs: number;
  listMs: number;
  deleteMs: number;
  /** The server refuses a second `If-None-Match: *` write of one key (S3 since 2024, recent MinIO). */
  conditionalWrites: boolean;
  /** The bucket has S3 Object Lock enabled (GetObjectLockConfiguration says `Enabled`). */
  objectLock: boolean;
  /** Why not, in the server's words (its error code), when `objectLock` is false. */
  objectLockReason?: string | null;
}

/** Which input setting an S3 error code points at. */
const FIELD_OF: Record<string, string> = {
  NoSuchBucket: 'bucket',
  InvalidBucketName: 'bucket',
  AllAccessDisabled: 'bucket',
  InvalidAccessKeyId: 'accessKeyId',
  AccessDenied: 'accessKeyId',
  SignatureDoesNotMatch: 'secretAccessKey',
  PermanentRedirect: 'region',
  AuthorizationHeaderMalformed: 'region',
  IllegalLocationConstraintException: 'region',
  InvalidStorageClass: 'storageClass',
  KMS_NotFoundException: 'kmsKeyId',
  InvalidArgument: 'serverSideEncryption',
};

/** The cause of a STORAGE_UNAVAILABLE (or the error itself). */
const rootCause = (error: unknown) => (error as DomainError | undefined)?.cause ?? error;

export function settingProblem(error: unknown): DomainError {
  const cause = rootCause(error);
  const code = s3ErrorCode(cause);
  const field = FIELD_OF[code] ?? 'endpoint';
  return validationError({ [field]: `the storage server refused: ${s3Reason(cause)}` });
}

/** Whether the bucket has Object Lock enabled; a server without the API (NotImplemented) has none. */
async function objectLockOf(storage: S3Storage): Promise<{ objectLock: boolean; objectLockReason: string | null }> {
  try {
    const answer = await storage.client.send(new GetObjectLockConfigurationCommand({ Bucket: storage.bucket }));
    const enabled = answer.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    return { objectLock: enabled, objectLockReason: enabled ? null : 'ObjectLockEnabled is not Enabled' };
  } catch (error) {
    const code = s3ErrorCode(error);
    if (['ObjectLockConfigurationNotFoundError', 'NotImplemented', 'InvalidRequest', 'MethodNotAllowed'].includes(code))
      return { objectLock: false, objectLockReason: code };
    throw error;
  }
}

export async function probeStorage(storage: S3Storage): Promise<ProbeResult> {
  const key = `labkeeper-probe/${randomUUID()}`;
  const body = Buffer.from(`labkeeper storage probe ${new Date().toISOString()}\n`);
  const timed = async <T>(step: () => Promise<T>): Promise<[T, number]> => {
    const started = performance.now();
    const value = await step();
    return [value, Math.round(performance.now() - started)];
  };
  try {
    const [, writeMs] = await timed(() => storage.put(key, body));
    const conditionalWrites = await storage.client
      .send(new PutObjectCommand({ Bucket: storage.bucket, Key: storage.objectKey(key), Body: body, IfNoneMatch: '*' }))
      .then(
        () => false,
        (error: unknown) => {
          if (isPreconditionFailed(error)) return true;
          if (['NotImplemented', 'InvalidArgument'].includes(s3ErrorCode(error))) return false;
          throw error;
        },
      );
    const [read, readMs] = await timed(async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of await storage.open(key)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    });
    if (!read.equals(body)) throw validationError({ endpoint: 'the storage server returned other bytes than written' });
    const [, listMs] = await timed(async () => {
      for await (const listed of storage.list('labkeeper-probe')) if (listed === key) return;
      throw validationError({ endpoint: 'the storage server does not list an object just written' });
    });
    const [, deleteMs] = await timed(() => storage.delete(key));
    const lock = await objectLockOf(storage);
    return { writeMs, readMs, listMs, deleteMs, conditionalWrites, ...lock };
  } catch (error) {
    await storage.delete(key).catch(() => undefined);
    if ((error as DomainError).code === 'VALIDATION_FAILED') throw error;
    throw settingProblem(error);
  }
}
