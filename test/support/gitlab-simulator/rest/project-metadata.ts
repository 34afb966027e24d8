/**
 * Project metadata beyond issues and merge requests: releases (doc/api/releases/index.md),
 * snippets and their raw content (project_snippets.md), webhooks (project_webhooks.md), deploy
 * keys (deploy_keys.md), CI/CD variables (project_level_variables.md), protected branches and
 * tags, and project settings (PUT /projects/:id). Roles follow doc/user/permissions.md: hooks,
 * deploy keys and variables need Maintainer — below it GitLab answers 403 {"message":"403 Forbidden"}.
 */
import type { Request, Response, Router } from 'express';
import { requireUser, type Caller } from '../auth.js';
import type { SimContext } from '../context.js';
import { AccessLevel, type ProjectRecord, type SnippetFile, type Visibility } from '../model.js';
import { HOOK_EVENTS } from '../metadata-store.js';
import { ApiError, paginateOffset } from '../pagination.js';
import {
  boolParam,
  endpoint,
  findProject,
  forbidden,
  intParam,
  missingParams,
  notFound,
  orderBy,
  param,
  sortParam,
} from './common.js';
import { projectEntity } from './entities.js';
import {
  deployKeyEntity,
  hookEntity,
  protectedBranchEntity,
  protectedTagEntity,
  releaseEntity,
  SNIPPET_BRANCH,
  snippetEntity,
  variableEntity,
} from './metadata-entities.js';

export function registerProjectMetadataRoutes(ctx: SimContext, router: Router): void {
  const { state, access, store } = ctx;
  /** The project, when the caller holds at least `level` in it; 403 otherwise (after the 404 for an unreadable one). */
  const projectAt = (req: Request, caller: Caller, level: number): ProjectRecord => {
    const project = findProject(ctx, caller, String(req.params.id));
    if (access.projectAccess(caller.user, project) < level) throw forbidden();
    return project;
  };
  const page = <T>(req: Request, res: Response, items: T[]) => paginateOffset(req, res, ctx.baseUrl(), items);

  // ---- releases ---------------------------------------------------------------------------
  router.get(
    '/projects/:id/releases',
    endpoint((req, res, caller) => {
      const project = projectAt(req, caller, AccessLevel.GUEST);
      const by = param(req, 'order_by') === 'created_at' ? 'createdAt' : 'releasedAt';
      const releases = state.releases.filter((r) => r.projectId === project.id);
      return page(
        req,
        res,
        orderBy(releases, (r) => r[by].getTime(), sortParam(req, 'desc')),
      ).map((r) => releaseEntity(ctx, r));
    }),
  );

  router.post(
    '/projects/:id/releases',
    endpoint(
      (req, _res, caller) => {
        const user = requireUser(caller);
        const project = projectAt(req, caller, AccessLevel.DEVELOPER);
        const tagName = param(req, 'tag_name');
        if (!tagName) throw missingParams('tag_name');
        const body = (req.body ?? {}) as {
          assets?: {
            links?: Array<{
              name: string;
              url: string;
              direct_asset_path?: string;
              filepath?: string;
              link_type?: string;
            }>;
          };
          milestones?: string[];
        };
        const releasedAt = param(req, 'released_at');
        const release = store.createRelease(project.id, {
          tagName,
          name: param(req, 'name'),
          description: param(req, 'description'),
          ref: param(req, 'ref'),
          authorId: user.id,
          releasedAt: releasedAt ? new Date(releasedAt) : undefined,
          milestones: body.milestones,
          links: body.assets?.links?.map((l) => ({
            name: l.name,
            url: l.url,
            directAssetPath: l.direct_asset_path ?? l.filepath ?? null,
            linkType: (l.link_type ?? 'other') as 'other',
          })),
        });
        return releaseEntity(ctx, release);
      },
      { status: 201 },
    ),
  );

  // ---- snippets ---------------------------------------------------------------------------
  router.get(
    '/projects/:id/snippets',
    endpoint((req, res, caller) => {
      const project = projectAt(req, caller, AccessLevel.NO_ACCESS);
      return page(
        req,
        res,
        orderBy(
          state.snippets.filter((s) => s.projectId === project.id),
          (s) => s.id,
          'desc',
        ),
      ).map((s) => snippetEntity(ctx, s));
    }),
  );

  const findSnippet = (project: ProjectRecord, id: string) => {
    const snippet = state.snippets.find((s) => s.projectId === project.id && s.id === Number(id));
    if (!snippet) throw new ApiError(404, { message: '404 Snippet Not Found' });
    return snippet;
  };

  router.get(
    '/projects/:id/snippets/:snippetId',
    endpoint((req, _res, caller) =>
      snippetEntity(ctx, findSnippet(findProject(ctx, caller, String(req.params.id)), String(req.params.snippetId))),
    ),
  );

  // lib/api/project_snippets.rb content_for: the first file of the snippet's repository, sent as
  // a git blob (Workhorse: text/plain, Content-Disposition inline).
  const sendBlob = (res: Response, file: SnippetFile) => {
    res
      .status(200)
      .type('text/plain; charset=utf-8')
      .setHeader('Content-Disposition', `inline; filename="${file.path}"`);
    res.send(file.content);
  };

  router.get(
    '/projects/:id/snippets/:snippetId/raw',
    endpoint((req, res, caller) => {
      const snippet = findSnippet(findProject(ctx, caller, String(req.params.id)), String(req.params.snippetId));
      sendBlob(res, snippet.files[0]);
    }),
  );

  // file_content_for: `ref` must name a commit of the snippet's repository (404 Reference Not
  // Found), `file_path` (URL-encoded, %2F for a slash) a blob at it (404 File Not Found).
  router.get(
    '/projects/:id/snippets/:snippetId/files/:ref/:filePath/raw',
    endpoint((req, res, caller) => {
      const snippet = findSnippet(findProject(ctx, caller, String(req.params.id)), String(req.params.snippetId));
      if (![SNIPPET_BRANCH, 'HEAD'].includes(String(req.params.ref))) throw notFound('Reference');
      const file = snippet.files.find((f) => f.path === String(req.params.filePath));
      if (!file) throw notFound('File');
      sendBlob(res, file);
    }),
  );

  // Create: `files` (13.5+: each with file_path and content) or the older file_name + content,
  // never both (mutually_exclusive).
  router.post(
    '/projects/:id/snippets',
    endpoint(
      (req, _res, caller) => {
        const user = requireUser(caller);
        const project = projectAt(req, caller, AccessLevel.REPORTER);
        const body = (req.body ?? {}) as { files?: unknown };
        const title = param(req, 'title');
        if (!title) throw missingParams('title');
        let files: SnippetFile[];
        if (body.files !== undefined) {
          if (param(req, 'file_name') !== undefined || param(req, 'content') !== undefined)
            throw new ApiError(400, {
              error: 'content, files are mutually exclusive, file_name, files are mutually exclusive',
            });
          if (!Array.isArray(body.files) || body.files.length === 0)
            throw new ApiError(400, { error: 'files is empty' });
          files = (body.files as Array<Record<string, unknown>>).map((f, i) => {
            if (typeof f?.file_path !== 'string' || !f.file_path) throw missingParams(`files[${i}][file_path]`);
            if (typeof f.content !== 'string') throw missingParams(`files[${i}][content]`);
            return { path: f.file_path, content: f.content };
          });
        } else {
          const fileName = param(req, 'file_name');
          const content = param(req, 'content');
          if (!fileName || content === undefined)
            throw missingParams(...(!fileName ? ['file_name'] : []), ...(content === undefined ? ['content'] : []));
          files = [{ path: fileName, content }];
        }
        const snippet = store.createSnippet(project.id, {
          title,
          files,
          description: param(req, 'description'),
          visibility: (param(req, 'visibility') as Visibility | undefined) ?? 'private',
          authorId: user.id,
        });
        return snippetEntity(ctx, snippet);
      },
      { status: 201 },
    ),
  );

  // ---- hooks, deploy keys, variables ------------------------------------------------------
  router.get(
    '/projects/:id/hooks',
    endpoint((req, res, caller) => {
      const project = projectAt(req, caller, AccessLevel.MAINTAINER);
      return page(
        req,
        res,
        state.hooks.filter((h) => h.projectId === project.id),
      ).map(hookEntity);
    }),
  );

  router.post(
    '/projects/:id/hooks',
    endpoint(
      (req, _res, caller) => {
        const project = projectAt(req, caller, AccessLevel.MAINTAINER);
        const url = param(req, 'url');
        if (!url) throw missingParams('url');
        const events = Object.fromEntries(
          HOOK_EVENTS.map((e) => [e, boolParam(req, e)]).filter(([, v]) => v !== undefined),
        );
        const hook = store.createHook(project.id, {
          url,
          token: param(req, 'token') ?? null,
          name: param(req, 'name'),
          description: param(req, 'description'),
          events,
          pushEventsBranchFilter: param(req, 'push_events_branch_filter') ?? null,
          enableSslVerification: boolParam(req, 'enable_ssl_verification'),
        });
        return hookEntity(hook);
      },
      { status: 201 },
    ),
  );

  // PUT /projects/:id/hooks/:hook_id (project_webhooks.md "Edit a project webhook"): url is
  // required; the other attributes, token included, change only when given.
  router.put(
    '/projects/:id/hooks/:hook_id',
    endpoint((req, _res, caller) => {
      const project = projectAt(req, caller, AccessLevel.MAINTAINER);
      const hook = state.hooks.find((h) => h.projectId === project.id && h.id === Number(req.params.hook_id));
      if (!hook) throw notFound('Hook');
      const url = param(req, 'url');
      if (!url) throw missingParams('url');
      if (!/^https?:\/\//.test(url)) throw new ApiError(422, { error: 'Invalid url given' });
      hook.url = url;
      const token = param(req, 'token');
      if (token !== undefined) hook.token = token;
      for (const e of HOOK_EVENTS) {
        const value = boolParam(req, e);
        if (value !== undefined) hook.events[e] = value;
      }
      const ssl = boolParam(req, 'enable_ssl_verification');
      if (ssl !== undefined) hook.enableSslVerification = ssl;
      return hookEntity(hook);
    }),
  );

  router.get(
    '/projects/:id/deploy_keys',
    endpoint((req, res, caller) => {
      const project = projectAt(req, caller, AccessLevel.MAINTAINER);
      return page(
        req,
        res,
        state.deployKeys.filter((k) => k.projectId === project.id),
      ).map(deployKeyEntity);
    }),
  );

  router.post(
    '/projects/:id/deploy_keys',
    endpoint(
      (req, _res, caller) => {
        const project = projectAt(req, caller, AccessLevel.MAINTAINER);
        const title = param(req, 'title');
        const key = param(req, 'key');
        if (!title || !key) throw missingParams(...(!key ? ['key'] : []), ...(!title ? ['title'] : []));
        return deployKeyEntity(
          store.createDeployKey(project.id, {
            title,
            key,
            canPush: boolParam(req, 'can_push'),
            expiresAt: param(req, 'expires_at') ?? null,
          }),
        );
      },
      { status: 201 },
    ),
  );

  router.get(
    '/projects/:id/variables',
    endpoint((req, res, caller) => {
      const project = projectAt(req, caller, AccessLevel.MAINTAINER);
      return page(
        req,
        res,
        state.variables.filter((v) => v.projectId === project.id),
      ).map(variableEntity);
    }),
  );

  router.post(
    '/projects/:id/variables',
    endpoint(
      (req, _res, caller) => {
        const project = projectAt(req, caller, AccessLevel.MAINTAINER);
        const key = param(req, 'key');
        const value = param(req, 'value');
        if (!key || value === undefined)
          throw missingParams(...(!key ? ['key'] : []), ...(value === undefined ? ['value'] : []));
        const hidden = boolParam(req, 'masked_and_hidden') ?? false;
        return variableEntity(
          store.createVariable(project.id, {
            key,
            value,
            variableType: param(req, 'variable_type') === 'file' ? 'file' : 'env_var',
            protected: boolParam(req, 'protected'),
            masked: hidden || boolParam(req, 'masked'),
            hidden,
            raw: boolParam(req, 'raw'),
            environmentScope: param(req, 'environment_scope'),
            description: param(req, 'description') ?? null,
          }),
        );
      },
      { status: 201 },
    ),
  );

  // ---- protected branches and tags --------------------------------------------------------
  router.get(
    '/projects/:id/protected_branches',
    endpoint((req, res, caller) => {
      const project = projectAt(req, caller, AccessLevel.REPORTER);
      return page(
        req,
        res,
        state.protectedBranches.filter((b) => b.projectId === project.id),
      ).map(protectedBranchEntity);
    }),
  );

  router.post(
    '/projects/:id/protected_branches',
    endpoint(
      (req, _res, caller) => {
        const project = projectAt(req, caller, AccessLevel.MAINTAINER);
        const name = param(req, 'name');
        if (!name) throw missingParams('name');
        return protectedBranchEntity(
          store.protectBranch(project.id, {
            name,
            pushAccessLevel: intParam(req, 'push_access_level'),
            mergeAccessLevel: intParam(req, 'merge_access_level'),
            allowForcePush: boolParam(req, 'allow_force_push'),
          }),
        );
      },
      { status: 201 },
    ),
  );

  // DELETE /projects/:id/protected_branches/:name (protected_branches.md "Unprotect repository branches"): 204.
  router.delete(
    '/projects/:id/protected_branches/:name',
    endpoint(
      (req, res, caller) => {
        const project = projectAt(req, caller, AccessLevel.MAINTAINER);
        const name = decodeURIComponent(String(req.params.name));
        const index = state.protectedBranches.findIndex((b) => b.projectId === project.id && b.name === name);
        if (index < 0) throw new ApiError(404, { message: '404 Not found' });
        state.protectedBranches.splice(index, 1);
        res.status(204).end();
      },
      { status: 204 },
    ),
  );

  router.get(
    '/projects/:id/protected_tags',
    endpoint((req, res, caller) => {
      const project = projectAt(req, caller, AccessLevel.REPORTER);
      return page(
        req,
        res,
        state.protectedTags.filter((t) => t.projectId === project.id),
      ).map(protectedTagEntity);
    }),
  );

  router.post(
    '/projects/:id/protected_tags',
    endpoint(
      (req, _res, caller) => {
        const project = projectAt(req, caller, AccessLevel.MAINTAINER);
        const name = param(req, 'name');
        if (!name) throw missingParams('name');
        return protectedTagEntity(
          store.protectTag(project.id, { name, createAccessLevel: intParam(req, 'create_access_level') }),
        );
      },
      { status: 201 },
    ),
  );

  // ---- settings ---------------------------------------------------------------------------
  // POST /projects/:id/archive (projects.md "Archive a project"): Owner or administrator; an
  // archived project refuses pushes and writes (git-http.ts).
  router.post(
    '/projects/:id/archive',
    endpoint(
      (req, _res, caller) => {
        const user = requireUser(caller);
        const project = projectAt(req, caller, AccessLevel.MAINTAINER);
        if (access.projectAccess(user, project) < AccessLevel.OWNER) throw forbidden();
        project.archived = true;
        project.updatedAt = state.now();
        return projectEntity(ctx, project, user);
      },
      { status: 201 },
    ),
  );

  router.put(
    '/projects/:id',
    endpoint((req, _res, caller) => {
      const user = requireUser(caller);
      const project = projectAt(req, caller, AccessLevel.MAINTAINER);
      const visibility = param(req, 'visibility') as Visibility | undefined;
      // Changing visibility is an Owner action (ProjectPolicy :change_visibility_level).
      if (
        visibility !== undefined &&
        visibility !== project.visibility &&
        access.projectAccess(user, project) < AccessLevel.OWNER
      )
        throw forbidden();
      const strings = { name: 'name', description: 'description', default_branch: 'defaultBranch' } as const;
      for (const [name, field] of Object.entries(strings)) {
        const value = param(req, name);
        if (value !== undefined) (project as unknown as Record<string, string>)[field] = value;
      }
      const flags = {
        issues_enabled: 'issuesEnabled',
        wiki_enabled: 'wikiEnabled',
        lfs_enabled: 'lfsEnabled',
      } as const;
      for (const [name, field] of Object.entries(flags)) {
        const value = boolParam(req, name);
        if (value !== undefined) project[field] = value;
      }
      if (visibility !== undefined) project.visibility = visibility;
      const topics = param(req, 'topics') ?? param(req, 'tag_list');
      if (topics !== undefined)
        project.topics = topics
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean);
      project.updatedAt = state.now();
      return projectEntity(ctx, project, user);
    }),
  );
}
