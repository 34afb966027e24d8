/**
 * Git LFS over HTTP, as GitLab serves it (config/routes/repository.rb `concern :lfsable`,
 * Repositories::LfsApiController, Repositories::LfsStorageController, LfsRequest):
 *
 * - `POST /<full_path>.git/info/lfs/objects/batch` (Batch API, basic transfer): for `download`,
 *   each requested object linked to the project gets `actions.download` = { href:
 *   `<http_url_to_repo>/gitlab-lfs/objects/<oid>`, header: { Authorization: Basic <username>:<LFS
 *   token> } } (no `expires_in`; the token lives 2 h), plus `authenticated: true` on public
 *   projects; any other gets `error: { code: 404, message: "Object does not exist on the server or
 *   you don't have permissions to access it" }`. The requested `oid` and `size` are echoed as
 *   sent: GitLab does not check the size. For `upload`, objects the project has come back without
 *   actions, the others with `actions.upload` (PUT `<repo>.git/gitlab-lfs/objects/<oid>/<size>`).
 *   No objects → 404 `{"message":"Not found."}`. With object storage and proxy download off,
 *   `download.href` is a pre-signed URL (1 h) without header.
 * - `GET /<full_path>.git/gitlab-lfs/objects/<oid>`: the bytes (application/octet-stream), 404
 *   JSON when the instance has no file for the oid.
 * - `PUT /<full_path>.git/gitlab-lfs/objects/<oid>/<size>`: Workhorse stores the body and Rails
 *   checks it: 400 "SHA256 or size mismatch", else 200 and the object is linked to the project.
 * - `POST .../info/lfs/objects` and `GET .../info/lfs/objects/<oid>` (LFS API v1): 501.
 *
 * Authentication is git's (GitHttpClientController#authenticate_user, see git-http.ts), plus LFS
 * tokens. Anonymous callers may only download from public projects; everything else gets the 401
 * challenge. Then LfsRequest#lfs_check_access!: downloading needs `lfs_enabled` and read access;
 * uploading needs `lfs_enabled`, a token that may push and Developer. A caller who may read the
 * project (or any caller of a public one) but not do that gets 403 `{"message":"Access forbidden.
 * Check your access level."}`, anyone else 404 `{"message":"Not found."}`, both as
 * application/vnd.git-lfs+json with `documentation_url`. So a project with LFS disabled answers
 * 403 to its readers. Errors are per request, never per object, except the batch 404s above.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import { ACCESS_DENIED, authenticateGit, challenge, type GitActor } from './git-http.js';
import { OID } from './lfs-store.js';
import type { ProjectRecord } from './model.js';
import type { ServerDeps } from './server.js';

const LFS_PATH =
  /^\/(.+?)\.git\/(info\/lfs\/objects\/batch|info\/lfs\/objects|info\/lfs\/objects\/[0-9a-f]{64}|gitlab-lfs\/objects\/([0-9a-f]{64})(?:\/(\d+))?)$/;
const OBJECT_STORAGE_PATH = /^\/-\/object-storage\/lfs-objects\/([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{60})$/;
export const LFS_CONTENT_TYPE = 'application/vnd.git-lfs+json';

export function isLfsPath(path: string): boolean {
  return LFS_PATH.test(path) || OBJECT_STORAGE_PATH.test(path);
}

function lfsJson(res: Response, status: number, body: unknown): void {
  res.status(status).setHeader('Content-Type', `${LFS_CONTENT_TYPE}; charset=utf-8`);
  res.send(JSON.stringify(body));
}

function readBody(req: Request, limit = 10 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function handleLfsRequest(deps: ServerDeps, req: Request, res: Response, next: () => void): Promise<void> {
  const storage = OBJECT_STORAGE_PATH.exec(req.path);
  if (storage) {
    if (req.method !== 'GET') return next();
    return objectStorageDownload(deps, req, res, `${storage[1]}${storage[2]}${storage[3]}`);
  }
  const match = LFS_PATH.exec(req.path)!;
  const [, rawPath, route, objectOid, objectSize] = match;
  const kind =
    route === 'info/lfs/objects/batch'
      ? req.method === 'POST'
        ? 'batch'
        : null
      : route.startsWith('info/lfs/objects')
        ? req.method === (route === 'info/lfs/objects' ? 'POST' : 'GET')
          ? 'deprecated'
          : null
        : objectSize === undefined
          ? req.method === 'GET'
            ? 'download'
            : null
          : req.method === 'PUT'
            ? 'upload'
            : null;
  if (!kind) return next();
  const { state, access } = deps.ctx;

  // Rack::Attack runs before anything else (throttle_authenticated_git_lfs and friends).
  if (deps.faults.throttle(req.path, `lfs:${req.socket.remoteAddress}`, !!req.headers.authorization, res)) return;

  let params: { operation?: unknown; objects?: unknown } = {};
  if (kind === 'batch') {
    const body = await readBody(req);
    // Rails parses JSON params for application/json and application/vnd.git-lfs+json (config/initializers/mime_types.rb).
    if (/^application\/(vnd\.git-lfs\+)?json\b/i.test(String(req.headers['content-type'] ?? '')) && body.length > 0) {
      try {
        params = JSON.parse(body.toString('utf8')) as typeof params;
      } catch {
        res.status(400).type('text/plain').send('Bad Request\n');
        return;
      }
    }
  }
  const isDownload = kind === 'download' || (kind === 'batch' && params.operation === 'download');
  const isUpload = kind === 'upload' || (kind === 'batch' && params.operation === 'upload');

  const project: ProjectRecord | undefined = state.findProjectByFullPath(decodeURIComponent(rawPath));
  const actor = authenticateGit(deps, req);
  if (actor === 'denied') return challenge(res, `${ACCESS_DENIED}\n`);
  // GitHttpClientController#http_download_allowed?: anonymous downloads of public projects only.
  if (!actor && !(isDownload && project && access.canReadProject(null, project)))
    return challenge(res, `${ACCESS_DENIED}\n`);
  res.locals.authKind = actor ? actor.kind : 'none';
  const documentationUrl = `${deps.ctx.baseUrl()}/help`;
  if (kind === 'deprecated') {
    lfsJson(res, 501, {
      message: 'Server supports batch API only, please update your Git LFS client to version 1.0.1 and up.',
      documentation_url: documentationUrl,
    });
    return;
  }
  const user = actor ? actor.user : null;
  const notFound = () => lfsJson(res, 404, { message: 'Not found.', documentation_url: documentationUrl });
  if (!project) return notFound();

  // LfsRequest#lfs_check_access!
  const canRead = access.canReadProject(user, project);
  const allowed =
    (isDownload && project.lfsEnabled && canRead && (!actor || actor.canDownload)) ||
    (isUpload && project.lfsEnabled && canPush(deps, actor, project));
  if (!allowed) {
    if (project.visibility === 'public' || canRead) {
      lfsJson(res, 403, { message: 'Access forbidden. Check your access level.', documentation_url: documentationUrl });
    } else {
      notFound();
    }
    return;
  }

  if (kind === 'batch') return batch(deps, res, project, actor, params, isDownload, notFound);
  if (kind === 'download') return download(deps, res, objectOid, notFound);
  return upload(deps, req, res, project, objectOid, Number(objectSize));
}

function canPush(deps: ServerDeps, actor: GitActor | null, project: ProjectRecord): boolean {
  return !!actor && actor.canPush && !project.archived && deps.ctx.access.projectAccess(actor.user, project) >= 30;
}

function batch(
  deps: ServerDeps,
  res: Response,
  project: ProjectRecord,
  actor: GitActor | null,
  params: { objects?: unknown },
  isDownload: boolean,
  notFound: () => void,
): void {
  const objects = Array.isArray(params.objects)
    ? (params.objects as Array<Record<string, unknown>>).filter((o) => o && typeof o === 'object')
    : [];
  if (objects.length === 0) return notFound();
  const { lfs, ctx } = deps;
  const repoUrl = `${ctx.baseUrl()}/${ctx.state.projectFullPath(project)}.git`;
  // LfsApiController#authorization_header: an LFS token for a signed-in caller, else the request's own header (none for anonymous).
  const authorization = actor
    ? `Basic ${Buffer.from(`${actor.user.username}:${lfs.issueToken(actor.user.id)}`).toString('base64')}`
    : undefined;
  const header = authorization ? { Authorization: authorization } : {};
  const guestCanDownload = project.visibility === 'public';
  const answer = objects.map((requested) => {
    const object: Record<string, unknown> = { oid: requested.oid, size: requested.size };
    const oid = String(requested.oid);
    const known = lfs.isLinked(project.id, oid);
    if (isDownload) {
      if (known) {
        object.actions = {
          download: lfs.proxyDownload
            ? { href: `${repoUrl}/gitlab-lfs/objects/${oid}`, header }
            : { href: lfs.presign(ctx.baseUrl(), oid) },
        };
        if (guestCanDownload) object.authenticated = true;
      } else {
        object.error = {
          code: 404,
          message: "Object does not exist on the server or you don't have permissions to access it",
        };
      }
    } else if (!known) {
      object.actions = {
        upload: {
          href: `${repoUrl}/gitlab-lfs/objects/${oid}/${String(requested.size)}`,
          header: { ...header, 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' },
        },
      };
    }
    return object;
  });
  lfsJson(res, 200, { objects: answer });
}

function sendFile(deps: ServerDeps, res: Response, oid: string): boolean {
  const size = deps.lfs.fileSize(oid);
  if (size === null) return false;
  res.status(200).setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Content-Length', String(size));
  const stream = createReadStream(deps.lfs.filePath(oid));
  stream.on('error', () => res.destroy());
  stream.pipe(res);
  return true;
}

function download(deps: ServerDeps, res: Response, oid: string, notFound: () => void): void {
  // LfsStorageController#download: LfsObject.find_by_oid (instance-wide), 404 unless its file exists.
  if (!sendFile(deps, res, oid)) notFound();
}

async function upload(
  deps: ServerDeps,
  req: Request,
  res: Response,
  project: ProjectRecord,
  oid: string,
  size: number,
): Promise<void> {
  const tmpDir = join(deps.lfs.root, '..', 'lfs-uploads');
  mkdirSync(tmpDir, { recursive: true });
  const temp = join(tmpDir, randomBytes(8).toString('hex'));
  const hash = createHash('sha256');
  let received = 0;
  const out = createWriteStream(temp);
  try {
    await new Promise<void>((resolve, reject) => {
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
      });
      req.on('error', reject);
      out.on('error', reject);
      out.on('finish', () => resolve());
      req.pipe(out);
    });
  } catch {
    rmSync(temp, { force: true });
    if (!res.headersSent) res.status(400).type('text/plain').send('Bad Request\n');
    return;
  }
  // LfsStorageController#validate_uploaded_file!
  if (received !== size || hash.digest('hex') !== oid) {
    rmSync(temp, { force: true });
    res.status(400).type('text/plain').send('SHA256 or size mismatch');
    return;
  }
  deps.lfs.adopt(project.id, oid, temp);
  res.status(200).setHeader('Content-Type', `${LFS_CONTENT_TYPE}; charset=utf-8`);
  res.end();
}

/** A pre-signed object-storage URL, answered as S3 does. */
function objectStorageDownload(deps: ServerDeps, req: Request, res: Response, oid: string): void {
  const s3Error = (status: number, code: string, message: string) =>
    res
      .status(status)
      .type('application/xml')
      .send(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
  if (req.headers.authorization) {
    return void s3Error(
      400,
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    );
  }
  const check = deps.lfs.checkPresigned(
    oid,
    typeof req.query['X-Amz-Expires'] === 'string' ? req.query['X-Amz-Expires'] : '',
    typeof req.query['X-Amz-Signature'] === 'string' ? req.query['X-Amz-Signature'] : '',
  );
  if (check === 'bad')
    return void s3Error(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.',
    );
  if (check === 'expired') return void s3Error(403, 'AccessDenied', 'Request has expired');
  if (!OID.test(oid) || !sendFile(deps, res, oid)) s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
}
