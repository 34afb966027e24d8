/**
 * The policy form's sections besides the schedule: scope, what to include, time zone and backup
 * window, retention, storage, and compression/encryption/verification. Each is a <fieldset> with
 * SectionProps, so the form is a list of sections.
 */
import type { Compression, RetentionMode } from '../../graphql/generated/graphql';
import { Link } from '../../app/router';
import { Checkbox, Field } from '../../ui/Field';
import { humanize } from '../../ui/format';
import { errorAt } from './policy-draft';
import type { SectionProps } from './section';
import { TimeInput } from './TimeInput';

/** GROUP_METADATA_TYPES in server/src/backup/policy.types.ts (the schema lists only project types). */
export const GROUP_METADATA_TYPES = ['group_labels', 'group_milestones', 'group_members', 'subgroups', 'epics'];

const METADATA_LABELS: Record<string, string> = {
  issues: 'Issues (with notes)',
  merge_requests: 'Merge requests (with notes)',
  ci_variables: 'CI/CD variables (stored encrypted)',
  group_labels: 'Group labels',
  group_milestones: 'Group milestones',
  group_members: 'Group members',
  epics: 'Epics (GitLab Premium)',
};
const labelOf = (type: string) => METADATA_LABELS[type] ?? humanize(type.toUpperCase());
const toggle = (list: string[], value: string, on: boolean) =>
  on ? [...new Set([...list, value])] : list.filter((v) => v !== value);

export function ScopeFieldset({
  draft,
  update,
  fields,
  repositories,
  protectedCount,
}: SectionProps & { repositories: { id: string; pathWithNamespace: string }[]; protectedCount: number }) {
  const error = errorAt(fields, 'scope');
  return (
    <fieldset>
      <legend>Scope</legend>
      <div className="choices" role="radiogroup" aria-label="Repositories to back up">
        <label>
          <input
            type="radio"
            name="scope"
            checked={draft.scope.mode === 'ALL'}
            onChange={() => update((d) => void (d.scope.mode = 'ALL'))}
          />
          All protected repositories
        </label>
        <label>
          <input
            type="radio"
            name="scope"
            checked={draft.scope.mode === 'SELECTED'}
            onChange={() => update((d) => void (d.scope.mode = 'SELECTED'))}
          />
          Only the repositories I select
        </label>
      </div>
      {draft.scope.mode === 'SELECTED' ? (
        repositories.length === 0 ? (
          <p className="muted">No repository of this organization is protected yet.</p>
        ) : (
          <fieldset className="plain scope-list">
            <legend className="field-legend">Selected repositories</legend>
            {protectedCount > repositories.length ? (
              <p className="field-hint">
                The first {repositories.length} of {protectedCount} protected repositories are listed; to back up a
                larger part, protect only those on the organization page and keep “all protected repositories”.
              </p>
            ) : null}
            {repositories.map((repo) => (
              <Checkbox
                key={repo.id}
                label={repo.pathWithNamespace}
                checked={draft.scope.repositoryIds.includes(repo.id)}
                onChange={(on) =>
                  update((d) => void (d.scope.repositoryIds = toggle(d.scope.repositoryIds, repo.id, on)))
                }
              />
            ))}
          </fieldset>
        )
      ) : null}
      {error ? <p className="field-error">{error}</p> : null}
    </fieldset>
  );
}

export function IncludeFieldset({
  draft,
  update,
  fields,
  metadataTypes,
  includeGroups,
}: SectionProps & { metadataTypes: string[]; includeGroups: boolean }) {
  const inc = draft.include;
  const own = fields['include'];
  return (
    <fieldset>
      <legend>What to back up</legend>
      <Checkbox
        label="Repository (every branch and tag)"
        checked={inc.repository}
        onChange={(on) => update((d) => void (d.include.repository = on))}
      />
      <Checkbox label="Wiki" checked={inc.wiki} onChange={(on) => update((d) => void (d.include.wiki = on))} />
      <Checkbox
        label="LFS objects"
        checked={inc.lfs}
        onChange={(on) => update((d) => void (d.include.lfs = on))}
        hint="Backed up with the repository."
      />
      {fields['include.lfs'] ? <p className="field-error">{fields['include.lfs']}</p> : null}
      <fieldset className="plain">
        <legend className="field-legend">Project metadata</legend>
        <div className="choices choices-grid">
          {metadataTypes.map((type) => (
            <Checkbox
              key={type}
              label={labelOf(type)}
              checked={inc.metadata.includes(type)}
              onChange={(on) => update((d) => void (d.include.metadata = toggle(d.include.metadata, type, on)))}
            />
          ))}
        </div>
        {errorAt(fields, 'include.metadata') ? (
          <p className="field-error">{errorAt(fields, 'include.metadata')}</p>
        ) : null}
      </fieldset>
      <fieldset className="plain">
        <legend className="field-legend">Group metadata</legend>
        {includeGroups ? null : (
          <p className="field-hint">
            This organization does not include groups in its backups, so these apply once it does.
          </p>
        )}
        <div className="choices choices-grid">
          {GROUP_METADATA_TYPES.map((type) => (
            <Checkbox
              key={type}
              label={labelOf(type)}
              checked={inc.groupMetadata.includes(type)}
              onChange={(on) =>
                update((d) => void (d.include.groupMetadata = toggle(d.include.groupMetadata, type, on)))
              }
            />
          ))}
        </div>
        {errorAt(fields, 'include.groupMetadata') ? (
          <p className="field-error">{errorAt(fields, 'include.groupMetadata')}</p>
        ) : null}
      </fieldset>
      {own ? <p className="field-error">{own}</p> : null}
    </fieldset>
  );
}

const TIME_ZONES: string[] =
  typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : ['UTC'];

export function TimingFieldset({ draft, update, fields }: SectionProps) {
  return (
    <fieldset>
      <legend>Time zone and backup window</legend>
      <Field
        label="Time zone"
        hint="An IANA time zone such as Europe/Warsaw or UTC; schedule times are in it."
        error={errorAt(fields, 'timeZone')}
      >
        <input
          type="text"
          list="policy-time-zones"
          autoComplete="off"
          value={draft.timeZone}
          onChange={(e) => update((d) => void (d.timeZone = e.target.value))}
        />
      </Field>
      <datalist id="policy-time-zones">
        {TIME_ZONES.map((zone) => (
          <option key={zone} value={zone} />
        ))}
      </datalist>
      <Checkbox
        label="Start backups only inside a window"
        checked={draft.window.isEnabled}
        onChange={(on) => update((d) => void (d.window.isEnabled = on))}
        hint="A run still going when the window ends stops cleanly (timed out) and continues next time."
      />
      {draft.window.isEnabled ? (
        <div className="row">
          <Field label="Window start" error={errorAt(fields, 'window.start')}>
            <TimeInput value={draft.window.start} onValue={(v) => update((d) => void (d.window.start = v))} />
          </Field>
          <Field
            label="Window end"
            hint="Earlier than the start: the window crosses midnight."
            error={errorAt(fields, 'window.end', 'window')}
          >
            <TimeInput value={draft.window.end} onValue={(v) => update((d) => void (d.window.end = v))} />
          </Field>
        </div>
      ) : null}
    </fieldset>
  );
}

const RETENTION: { value: RetentionMode; label: string }[] = [
  { value: 'KEEP_FOREVER', label: 'Keep every copy forever' },
  { value: 'BY_COUNT', label: 'Keep the last N copies' },
  { value: 'BY_TIME', label: 'Keep copies for a number of days' },
];

export function RetentionFieldset({ draft, update, fields }: SectionProps) {
  const r = draft.retention;
  return (
    <fieldset>
      <legend>Retention</legend>
      <div className="choices" role="radiogroup" aria-label="Retention">
        {RETENTION.map((option) => (
          <label key={option.value}>
            <input
              type="radio"
              name="retention"
              checked={r.mode === option.value}
              onChange={() => update((d) => void (d.retention.mode = option.value))}
            />
            {option.label}
          </label>
        ))}
      </div>
      {fields['retention.mode'] ? <p className="field-error">{fields['retention.mode']}</p> : null}
      {r.mode === 'BY_COUNT' ? (
        <Field
          label="Copies to keep"
          hint="Per repository; the last copy of a repository deleted upstream is always kept."
          error={fields['retention.keepLast']}
        >
          <input
            type="number"
            inputMode="numeric"
            min={1}
            value={r.keepLast}
            onChange={(e) => update((d) => void (d.retention.keepLast = e.target.value))}
          />
        </Field>
      ) : null}
      {r.mode === 'BY_TIME' ? (
        <div className="row">
          <Field label="Full copies (days)" error={fields['retention.fullDays']}>
            <input
              type="number"
              inputMode="numeric"
              min={1}
              value={r.fullDays}
              onChange={(e) => update((d) => void (d.retention.fullDays = e.target.value))}
            />
          </Field>
          <Field label="Differential copies (days)" error={fields['retention.differentialDays']}>
            <input
              type="number"
              inputMode="numeric"
              min={1}
              value={r.differentialDays}
              onChange={(e) => update((d) => void (d.retention.differentialDays = e.target.value))}
            />
          </Field>
          <Field label="Incremental copies (days)" error={fields['retention.incrementalDays']}>
            <input
              type="number"
              inputMode="numeric"
              min={1}
              value={r.incrementalDays}
              onChange={(e) => update((d) => void (d.retention.incrementalDays = e.target.value))}
            />
          </Field>
        </div>
      ) : null}
    </fieldset>
  );
}

export interface StorageChoice {
  id: string;
  name: string;
  bucket: string;
  prefix: string;
  objectLockMode?: string | null;
  objectLockDays?: number | null;
}

const storageLabel = (s: StorageChoice) =>
  `${s.name} (S3 ${s.bucket}${s.prefix ? `/${s.prefix}` : ''}${s.objectLockMode ? `, locked ${s.objectLockDays} days` : ''})`;

/** Where snapshots go: a local directory or a storage as the primary, and replicas (3-2-1) on other storages. */
export function StorageFieldset({ draft, update, fields, storages }: SectionProps & { storages: StorageChoice[] }) {
  const primary = draft.storage.kind === 'STORAGE' ? draft.storage.storageId : 'LOCAL';
  const replicas = draft.storage.replicaStorageIds;
  return (
    <fieldset>
      <legend>Storage</legend>
      <Field
        label="Primary storage"
        hint={
          <>
            Where each backup writes its snapshots. <Link to="/storages">Storages</Link> lists the S3 storages and adds
            more.
          </>
        }
        error={errorAt(fields, 'storage.kind', 'storage.storageId')}
      >
        <select
          value={primary}
          onChange={(e) =>
            update((d) => {
              const value = e.target.value;
              d.storage.kind = value === 'LOCAL' ? 'LOCAL' : 'STORAGE';
              d.storage.storageId = value === 'LOCAL' ? '' : value;
              d.storage.replicaStorageIds = d.storage.replicaStorageIds.filter((id) => id !== value);
              if (value === 'LOCAL') d.storage.downloadLink = 'LABKEEPER';
            })
          }
        >
          <option value="LOCAL">Local directory (a mounted NFS or SMB path works the same)</option>
          {storages.map((s) => (
            <option key={s.id} value={s.id}>
              {storageLabel(s)}
            </option>
          ))}
        </select>
      </Field>
      {draft.storage.kind === 'LOCAL' ? (
        <Field
          label="Directory"
          hint="An absolute path on the worker. Empty: the data directory’s backups folder."
          error={fields['storage.path']}
        >
          <input
            type="text"
            placeholder="<data dir>/backups"
            value={draft.storage.path}
            onChange={(e) => update((d) => void (d.storage.path = e.target.value))}
          />
        </Field>
      ) : (
        <Field
          label="Download restores"
          hint="How a Download restore hands its archive over. A presigned link needs the storage’s endpoint to be reachable from the browser."
          error={fields['storage.downloadLink']}
        >
          <select
            value={draft.storage.downloadLink}
            onChange={(e) => update((d) => void (d.storage.downloadLink = e.target.value))}
          >
            <option value="LABKEEPER">A Labkeeper link (the archive streams through Labkeeper)</option>
            <option value="PRESIGNED">A presigned link to the storage (the archive is written there first)</option>
          </select>
        </Field>
      )}
      <fieldset className="nested" aria-describedby="replicas-hint">
        <legend>Replicas</legend>
        <p className="field-hint" id="replicas-hint">
          Each new snapshot is copied to these storages once the primary has it (3-2-1: keep copies off this machine).
        </p>
        {storages.filter((s) => s.id !== primary).length === 0 ? (
          <p className="muted">
            No other storage to copy to. <Link to="/storages">Add an S3 storage</Link>.
          </p>
        ) : null}
        {storages
          .filter((s) => s.id !== primary)
          .map((s) => (
            <Checkbox
              key={s.id}
              label={`Copy to ${storageLabel(s)}`}
              checked={replicas.includes(s.id)}
              onChange={(on) =>
                update((d) => {
                  const rest = d.storage.replicaStorageIds.filter((id) => id !== s.id);
                  d.storage.replicaStorageIds = on ? [...rest, s.id] : rest;
                })
              }
            />
          ))}
        {fields['storage.replicaStorageIds'] ? (
          <p className="field-error">{fields['storage.replicaStorageIds']}</p>
        ) : null}
      </fieldset>
    </fieldset>
  );
}

export function ProtectionFieldset({
  draft,
  update,
  fields,
  encryptionKeys,
}: SectionProps & { encryptionKeys: { id: string; name: string; fingerprint: string }[] }) {
  return (
    <fieldset>
      <legend>Compression, encryption and verification</legend>
      <Field label="Compression" hint="Changing it (or the key) starts a new full chain." error={fields['compression']}>
        <select
          value={draft.compression}
          onChange={(e) => update((d) => void (d.compression = e.target.value as Compression))}
        >
          <option value="NONE">None</option>
          <option value="GZIP">gzip</option>
          <option value="BROTLI">Brotli</option>
        </select>
      </Field>
      <Field
        label="Encryption key"
        hint={
          <>
            AES-256-GCM with a key from the <Link to="/password-manager">Password Manager</Link> (kind: encryption key).
          </>
        }
        error={errorAt(fields, 'encryptionCredentialId', 'encryption')}
      >
        <select
          value={draft.encryptionCredentialId}
          onChange={(e) => update((d) => void (d.encryptionCredentialId = e.target.value))}
        >
          <option value="">Not encrypted</option>
          {encryptionKeys.map((key) => (
            <option key={key.id} value={key.id}>
              {key.name} (…{key.fingerprint})
            </option>
          ))}
        </select>
      </Field>
      <Checkbox
        label="Verify after each backup"
        checked={draft.verifyAfterBackup}
        onChange={(on) => update((d) => void (d.verifyAfterBackup = on))}
        hint="Re-read every artifact, check sizes and sha256, and verify the bundles."
      />
      {fields['verifyAfterBackup'] ? <p className="field-error">{fields['verifyAfterBackup']}</p> : null}
    </fieldset>
  );
}
