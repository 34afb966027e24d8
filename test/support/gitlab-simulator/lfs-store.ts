/**
 * Git LFS objects of the simulator, stored the way GitLab stores them:
 *
 * - One object per oid for the whole instance (GitLab's `lfs_objects` table), on disk under
 *   `<dataDir>/lfs-objects/<oid[0:2]>/<oid[2:4]>/<oid[4:]>` (LfsObjectUploader's path), linked to
 *   the projects that use it (`lfs_objects_projects`). The batch API answers only for objects
 *   linked to the project; the storage endpoint looks the oid up instance-wide
 *   (LfsStorageController#download: `LfsObject.find_by_oid`), after the project access check.
 * - LFS tokens (Gitlab::LfsToken): the batch answer does not hand back the caller's own
 *   credentials but `Basic base64(<username>:<lfs token>)`, valid for 2 hours
 *   (LfsToken::DEFAULT_EXPIRE_TIME = 7200), and accepted by every git-over-HTTP endpoint
 *   (Gitlab::Auth#lfs_token_check) with read-write abilities.
 * - Object storage without proxy download (`lfs.object_store.proxy_download: false`): the batch
 *   answer then points at a pre-signed URL, valid for 1 hour (LFS_DIRECT_BATCH_EXPIRE_IN), with no
 *   header; like S3, that URL refuses a request that also carries an Authorization header.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SimulatorState } from './state.js';

export interface LfsObjectInfo {
  oid: string;
  size: number;
}

/** Seconds an LFS token lives (Gitlab::LfsToken::DEFAULT_EXPIRE_TIME). */
export const LFS_TOKEN_TTL_SECONDS = 7200;
/** Seconds a pre-signed object-storage URL lives (LfsApiController::LFS_DIRECT_BATCH_EXPIRE_IN). */
export const LFS_DIRECT_DOWNLOAD_TTL_SECONDS = 3600;

export const OID = /^[0-9a-f]{64}$/;

export function lfsPointer(object: LfsObjectInfo): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${object.oid}\nsize ${object.size}\n`;
}

export class LfsStore {
  /** projectId → linked oids. */
  private readonly links = new Map<number, Set<string>>();
  private readonly tokens = new Map<string, { userId: number; expiresAt: number }>();
  private readonly signingKey = randomBytes(32);
  /** false: the batch API hands out pre-signed object-storage URLs instead of proxying through GitLab. */
  proxyDownload = true;

  constructor(
    private readonly state: SimulatorState,
    readonly root: string,
  ) {}

  // ---- objects ----------------------------------------------------------------------------

  filePath(oid: string): string {
    return join(this.root, oid.slice(0, 2), oid.slice(2, 4), oid.slice(4));
  }

  /** Size of the instance-wide object, or null when there is none (or its file is gone). */
  fileSize(oid: string): number | null {
    if (!OID.test(oid)) return null;
    const file = this.filePath(oid);
    return existsSync(file) ? statSync(file).size : null;
  }

  /** Stores `content` (idempotent) and links it to the project. */
  add(projectId: number, content: Buffer | string): LfsObjectInfo {
    this.state.requireProject(projectId);
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const oid = createHash('sha256').update(bytes).digest('hex');
    const file = this.filePath(oid);
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      const temp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
      writeFileSync(temp, bytes);
      renameSync(temp, file);
    }
    this.link(projectId, oid);
    return { oid, size: bytes.length };
  }

  /** Publishes an uploaded temp file as `oid` (already verified) and links it. */
  adopt(projectId: number, oid: string, temp: string): void {
    const file = this.filePath(oid);
    mkdirSync(dirname(file), { recursive: true });
    if (existsSync(file)) rmSync(temp, { force: true });
    else renameSync(temp, file);
    this.link(projectId, oid);
  }

  link(projectId: number, oid: string): void {
    let set = this.links.get(projectId);
    if (!set) this.links.set(projectId, (set = new Set()));
    set.add(oid);
  }

  unlinkProject(projectId: number): void {
    this.links.delete(projectId);
  }

  isLinked(projectId: number, oid: string): boolean {
    return this.links.get(projectId)?.has(oid) ?? false;
  }

  /** The project's objects with their stored sizes, sorted by oid. */
  objects(projectId: number): LfsObjectInfo[] {
    return [...(this.links.get(projectId) ?? [])].sort().map((oid) => ({ oid, size: this.fileSize(oid) ?? -1 }));
  }

  /** Overwrites the stored bytes without changing the oid (bit rot, a bad disk, a broken upload). */
  corrupt(oid: string, bytes?: Buffer | string): void {
    const file = this.filePath(oid);
    if (!existsSync(file)) throw new Error(`LFS object ${oid} does not exist`);
    const current = readFileSync(file);
    const flipped = Buffer.from(current);
    if (flipped.length > 0) flipped[0] ^= 0xff;
    writeFileSync(file, bytes !== undefined ? Buffer.from(bytes) : flipped.length > 0 ? flipped : Buffer.from('x'));
  }

  /** Removes the stored file but keeps the database rows: the batch API still offers the object, the download 404s. */
  removeFile(oid: string): void {
    rmSync(this.filePath(oid), { force: true });
  }

  /** Every oid on disk (for tests of the simulator itself). */
  storedOids(): string[] {
    const out: string[] = [];
    if (!existsSync(this.root)) return out;
    for (const a of readdirSync(this.root)) {
      for (const b of readdirSync(join(this.root, a))) {
        for (const rest of readdirSync(join(this.root, a, b))) if (!rest.includes('.tmp-')) out.push(`${a}${b}${rest}`);
      }
    }
    return out.sort();
  }

  // ---- LFS tokens -------------------------------------------------------------------------

  issueToken(userId: number): string {
    const token = `lfs-${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, { userId, expiresAt: this.state.now().getTime() + LFS_TOKEN_TTL_SECONDS * 1000 });
    return token;
  }

  /** The user an LFS token authenticates (login must be that user's username), or null. */
  authenticateToken(login: string, token: string): number | null {
    const record = this.tokens.get(token);
    if (!record || record.expiresAt <= this.state.now().getTime()) return null;
    const user = this.state.users.get(record.userId);
    return user && user.username.toLowerCase() === login.toLowerCase() ? user.id : null;
  }

  // ---- pre-signed object-storage URLs -------------------------------------------------------

  presign(baseUrl: string, oid: string): string {
    const expires = Math.floor(this.state.now().getTime() / 1000) + LFS_DIRECT_DOWNLOAD_TTL_SECONDS;
    const signature = createHmac('sha256', this.signingKey).update(`${oid}:${expires}`).digest('hex');
    return `${baseUrl}/-/object-storage/lfs-objects/${oid.slice(0, 2)}/${oid.slice(2, 4)}/${oid.slice(4)}?X-Amz-Expires=${expires}&X-Amz-Signature=${signature}`;
  }

  checkPresigned(oid: string, expires: string, signature: string): 'ok' | 'expired' | 'bad' {
    const expected = createHmac('sha256', this.signingKey).update(`${oid}:${expires}`).digest('hex');
    if (signature !== expected) return 'bad';
    return Number(expires) * 1000 < this.state.now().getTime() ? 'expired' : 'ok';
  }
}
