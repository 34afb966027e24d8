/**
 * Advanced mode: connect GitLab with your own OAuth application (client id and secret, typed or
 * from the Password Manager; the pop-up flow of the DevOps tab) or with a login and a personal
 * access token (typed — connectGitLab saves it to the Password Manager — or picked from it), plus
 * the organization options: auto-add, include groups, the repository sync schedule, the default
 * worker and, optionally, the group to protect at once.
 */
import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { useClient, useMutation, useQuery, useSubscription } from 'urql';
import { problemOf } from '../../api/errors';
import { Link, useRouter } from '../../app/router';
import {
  AdvancedConnectOptionsDocument,
  ConnectGitLabDocument,
  ConnectionOrganizationsDocument,
  ConnectionStatusChangedDocument,
  type ConnectGitLabInput,
  type CredentialFieldsFragment,
  type CredentialKind,
  type RepoSyncScheduleInput,
} from '../../graphql/generated/graphql';
import { CredentialForm } from '../credentials/CredentialForm';
import { Dialog } from '../../ui/Dialog';
import { Checkbox, Field } from '../../ui/Field';
import { ErrorNotice, Loading, Notice } from '../../ui/States';
import { PopupBlockedHint, WaitingForAuthorization, type PendingAuthorization } from './ConnectOAuth';
import { inAuthorizationPopup } from './oauth-popup';
import {
  RepoSyncScheduleFieldset,
  defaultSchedule,
  scheduleInput,
  type ScheduleDraft,
} from './RepoSyncScheduleFieldset';

type Method = 'OAUTH_APP' | 'PERSONAL_ACCESS_TOKEN';
type SecretSource = 'NEW' | 'SAVED';

export function AdvancedConnectPage() {
  const { search, navigate } = useRouter();
  const client = useClient();
  const [options, refetchOptions] = useQuery({ query: AdvancedConnectOptionsDocument });
  const [connecting, connect] = useMutation(ConnectGitLabDocument);

  const [method, setMethod] = useState<Method>('OAUTH_APP');
  const [instanceUrl, setInstanceUrl] = useState(() => search.get('instance') || 'https://gitlab.com');
  const [clientId, setClientId] = useState('');
  const [secretSource, setSecretSource] = useState<SecretSource>('NEW');
  const [clientSecret, setClientSecret] = useState('');
  const [clientSecretCredentialId, setClientSecretCredentialId] = useState('');
  const [login, setLogin] = useState('');
  const [tokenSource, setTokenSource] = useState<SecretSource>('NEW');
  const [personalAccessToken, setPersonalAccessToken] = useState('');
  const [credentialId, setCredentialId] = useState('');
  const [autoAdd, setAutoAdd] = useState(true);
  const [includeGroups, setIncludeGroups] = useState(true);
  const [schedule, setSchedule] = useState<ScheduleDraft>(defaultSchedule);
  const [defaultWorkerId, setDefaultWorkerId] = useState('');
  const [namespacePath, setNamespacePath] = useState('');
  const [addingKind, setAddingKind] = useState<CredentialKind | null>(null);

  const [fields, setFields] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [pending, setPending] = useState<PendingAuthorization | null>(null);
  const [outcome, setOutcome] = useState<{ status: string; reason: string | null } | null>(null);

  // Entries added from this page show at once, before the re-read list arrives.
  const [added, setAdded] = useState<CredentialFieldsFragment[]>([]);
  const fetched = options.data?.credentials ?? [];
  const credentials = [...fetched, ...added.filter((a) => !fetched.some((c) => c.id === a.id))];
  const pats = credentials.filter((c) => c.kind === 'PERSONAL_ACCESS_TOKEN');
  const clientSecrets = credentials.filter((c) => c.kind === 'OAUTH_CLIENT_SECRET');
  const workers = options.data?.workers ?? [];

  /**
   * After connecting: the organization just protected (the server announces CONNECTED only once
   * the group is protected), or the DevOps tab.
   */
  const finish = useCallback(
    async (connectionId: string) => {
      const path = namespacePath
        .trim()
        .replace(/^\/+|\/+$/g, '')
        .toLowerCase();
      if (path) {
        const orgs = await client
          .query(ConnectionOrganizationsDocument, { connectionId }, { requestPolicy: 'network-only' })
          .toPromise();
        const org = orgs.data?.organizations.find((o) => o.fullPath.toLowerCase() === path);
        if (org) return navigate(`/organizations/${org.id}`);
      }
      navigate('/devops');
    },
    [client, namespacePath, navigate],
  );

  // The OAuth App pop-up's result arrives here, as on the DevOps tab.
  useSubscription(
    { query: ConnectionStatusChangedDocument, variables: { id: pending?.connectionId ?? null }, pause: !pending },
    (_prev, event) => {
      const change = event.connectionStatusChanged;
      if (pending && change.connectionId === pending.connectionId && change.status !== 'AWAITING_AUTHORIZATION') {
        setOutcome({ status: change.status, reason: change.reason ?? null });
        if (change.status === 'CONNECTED') void finish(change.connectionId);
      }
      return event;
    },
  );

  /** Every required field left empty, named at once (the API would name only the first it meets). */
  function missingFields(): Record<string, string> {
    const missing: Record<string, string> = {};
    if (!instanceUrl.trim()) missing.instanceUrl = 'Enter the address of your GitLab, e.g. https://gitlab.com.';
    if (method === 'PERSONAL_ACCESS_TOKEN') {
      if (!login.trim()) missing.login = 'Enter the username or e-mail of the GitLab user the token belongs to.';
      if (tokenSource === 'NEW' && !personalAccessToken)
        missing.personalAccessToken = 'Paste the personal access token.';
      if (tokenSource === 'SAVED' && !credentialId) missing.credentialId = 'Choose a saved token, or add one.';
    } else {
      if (!clientId.trim()) missing.clientId = 'Paste the Application ID of your OAuth application.';
      if (secretSource === 'NEW' && !clientSecret) missing.clientSecret = 'Paste the application’s secret.';
      if (secretSource === 'SAVED' && !clientSecretCredentialId)
        missing.clientSecretCredentialId = 'Choose a saved secret, or add one.';
    }
    return missing;
  }

  /** Switching between a typed and a saved secret drops the errors of the one left behind. */
  function chooseSource(setSource: (value: SecretSource) => void, names: string[]) {
    return (value: SecretSource) => {
      setSource(value);
      setFields((current) => Object.fromEntries(Object.entries(current).filter(([name]) => !names.includes(name))));
    };
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setMessage(null);
    setOutcome(null);
    setPending(null);
    const missing = missingFields();
    setFields(missing);
    if (Object.keys(missing).length > 0) {
      setMessage('Some fields need attention.');
      return;
    }
    const common: Omit<ConnectGitLabInput, 'method'> = {
      instanceUrl: instanceUrl.trim() || null,
      autoAddNewRepositories: autoAdd,
      includeGroups,
      repoSyncSchedule: scheduleInput(schedule) satisfies RepoSyncScheduleInput,
      defaultWorkerId: defaultWorkerId || null,
      namespacePath: namespacePath.trim() || null,
    };
    if (method === 'PERSONAL_ACCESS_TOKEN') {
      const result = await connect({
        input: {
          ...common,
          method,
          login: login.trim(),
          ...(tokenSource === 'NEW' ? { personalAccessToken } : { credentialId: credentialId || null }),
        },
      });
      const connection = result.data?.connectGitLab.connection;
      if (!connection) return showProblem(result.error);
      await finish(connection.id);
      return;
    }
    // The pop-up must open while the browser still treats this as the user's click.
    const { result, url, blocked } = await inAuthorizationPopup(
      () =>
        connect({
          input: {
            ...common,
            method,
            clientId: clientId.trim(),
            ...(secretSource === 'NEW'
              ? { clientSecret }
              : { clientSecretCredentialId: clientSecretCredentialId || null }),
          },
        }),
      (r) => r.data?.connectGitLab.authorizationUrl,
    );
    const payload = result.data?.connectGitLab;
    if (!payload || !url) return showProblem(result.error);
    setPending({ connectionId: payload.connection.id, authorizationUrl: url, popupBlocked: blocked });
    refetchOptions({ requestPolicy: 'network-only' });
  }

  function showProblem(error: Parameters<typeof problemOf>[0]) {
    const problem = problemOf(error);
    setFields(problem.fields);
    setMessage(problem.message ?? 'Labkeeper could not connect.');
  }

  // After a refusal, take the keyboard to the first field the API named.
  useEffect(() => {
    if (Object.keys(fields).length === 0) return;
    document
      .querySelector<HTMLElement>('.advanced-form [aria-invalid="true"], .advanced-form .field-invalid input')
      ?.focus();
  }, [fields]);

  const waiting = pending && !outcome;
  const redirectUri = options.data?.oauthRedirectUri;
  const scheduleErrors = useMemo(
    () => ({
      hours: fields['repoSyncSchedule.hours'],
      timeZone: fields['repoSyncSchedule.timeZone'],
      intervalMinutes: fields['repoSyncSchedule.intervalMinutes'],
      other: fields.repoSyncSchedule,
    }),
    [fields],
  );

  return (
    <section aria-labelledby="advanced-title">
      <div className="page-header">
        <h1 id="advanced-title">Advanced mode</h1>
      </div>
      <p className="muted">
        <Link to="/devops">DevOps</Link> › GitLab. Connect with your own OAuth application (required for a self-managed
        instance) or with a personal access token, and choose how the organization is kept in sync.
      </p>
      {options.fetching && !options.data ? <Loading /> : null}
      <ErrorNotice error={options.error} />

      <form onSubmit={submit} noValidate aria-label="Connect GitLab in advanced mode" className="advanced-form">
        <fieldset>
          <legend>Authentication (GitLab)</legend>
          <div className="choices" role="radiogroup" aria-label="How to authenticate">
            <label>
              <input
                type="radio"
                name="method"
                checked={method === 'OAUTH_APP'}
                onChange={() => setMethod('OAUTH_APP')}
              />{' '}
              Connect using OAuth App
            </label>
            <label>
              <input
                type="radio"
                name="method"
                checked={method === 'PERSONAL_ACCESS_TOKEN'}
                onChange={() => setMethod('PERSONAL_ACCESS_TOKEN')}
              />{' '}
              Login and Personal Access Token
            </label>
          </div>
          <Field
            label="Instance URL"
            error={fields.instanceUrl}
            hint="https://gitlab.com, or your self-managed GitLab, e.g. https://gitlab.example.com"
          >
            <input type="url" value={instanceUrl} onChange={(e) => setInstanceUrl(e.target.value)} />
          </Field>

          {method === 'OAUTH_APP' ? (
            <>
              <div className="notice notice-info">
                <p>
                  In GitLab, create an application (<em>User settings › Applications</em>, or a group's or the
                  instance's) with the scopes <code>read_api read_repository read_user</code> (<code>api</code> to
                  restore) and this redirect URI:
                </p>
                <p className="row">
                  <code className="copyable" aria-label="Redirect URI">
                    {redirectUri ?? '…'}
                  </code>
                  {redirectUri ? <CopyButton text={redirectUri} label="Copy the redirect URI" /> : null}
                </p>
              </div>
              <Field label="Application ID" error={fields.clientId}>
                <input type="text" value={clientId} onChange={(e) => setClientId(e.target.value)} autoComplete="off" />
              </Field>
              <SecretSourceChoice
                name="secret-source"
                value={secretSource}
                onChange={chooseSource(setSecretSource, ['clientSecret', 'clientSecretCredentialId'])}
                newLabel="Type the secret"
                savedLabel="Use a secret saved in the Password Manager"
              />
              {secretSource === 'NEW' ? (
                <Field label="Secret" error={fields.clientSecret} hint="Saved to the Password Manager, encrypted.">
                  <input
                    type="password"
                    value={clientSecret}
                    onChange={(e) => setClientSecret(e.target.value)}
                    autoComplete="new-password"
                  />
                </Field>
              ) : (
                <CredentialPicker
                  label="Saved secret"
                  credentials={clientSecrets}
                  value={clientSecretCredentialId}
                  onChange={setClientSecretCredentialId}
                  error={fields.clientSecretCredentialId ?? fields.clientSecret}
                  onAdd={() => setAddingKind('OAUTH_CLIENT_SECRET')}
                />
              )}
            </>
          ) : (
            <>
              <Field label="Username or e-mail" error={fields.login} hint="The GitLab user the token belongs to.">
                <input type="text" value={login} onChange={(e) => setLogin(e.target.value)} autoComplete="username" />
              </Field>
              <SecretSourceChoice
                name="token-source"
                value={tokenSource}
                onChange={chooseSource(setTokenSource, ['personalAccessToken', 'credentialId'])}
                newLabel="Type a new token"
                savedLabel="Use a token saved in the Password Manager"
              />
              {tokenSource === 'NEW' ? (
                <Field
                  label="Personal access token"
                  error={fields.personalAccessToken}
                  hint="Scopes read_api and read_repository (api to restore). It is saved to the Password Manager."
                >
                  <input
                    type="password"
                    value={personalAccessToken}
                    onChange={(e) => setPersonalAccessToken(e.target.value)}
                    autoComplete="new-password"
                  />
                </Field>
              ) : (
                <CredentialPicker
                  label="Personal access token"
                  credentials={pats}
                  value={credentialId}
                  onChange={setCredentialId}
                  error={fields.personalAccessToken ?? fields.credentialId}
                  onAdd={() => setAddingKind('PERSONAL_ACCESS_TOKEN')}
                />
              )}
            </>
          )}
        </fieldset>

        <fieldset>
          <legend>Options</legend>
          <Checkbox label="Automatically add new repositories to the backup" checked={autoAdd} onChange={setAutoAdd} />
          <Checkbox
            label="Include GitLab groups in the backup"
            hint="Group labels, milestones, members, subgroups and epics."
            checked={includeGroups}
            onChange={setIncludeGroups}
          />
        </fieldset>

        <RepoSyncScheduleFieldset value={schedule} onChange={setSchedule} errors={scheduleErrors} />

        <fieldset>
          <legend>Worker and organization</legend>
          <Field
            label="Default worker"
            error={fields.defaultWorkerId}
            hint="Runs this organization's syncs and backups."
          >
            <select value={defaultWorkerId} onChange={(e) => setDefaultWorkerId(e.target.value)}>
              <option value="">Any online worker</option>
              {workers.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name} ({w.host}) — {w.status === 'ONLINE' ? 'online' : 'offline'}
                </option>
              ))}
            </select>
          </Field>
          <Field
            label="Group to protect (optional)"
            error={fields.namespacePath}
            hint="Full path of a group (or a username), e.g. acme. Protected as soon as the connection works."
          >
            <input
              type="text"
              value={namespacePath}
              onChange={(e) => setNamespacePath(e.target.value)}
              placeholder="acme"
            />
          </Field>
        </fieldset>

        {waiting ? (
          pending.popupBlocked ? (
            <PopupBlockedHint authorizationUrl={pending.authorizationUrl} />
          ) : (
            <WaitingForAuthorization
              pending={pending}
              what="your application"
              onCancel={() => setPending(null)}
              onBlocked={() => setPending({ ...pending, popupBlocked: true })}
            />
          )
        ) : null}
        {outcome ? (
          outcome.status === 'CONNECTED' ? (
            <Notice kind="success">Connected. Opening the organization…</Notice>
          ) : (
            <Notice kind="error">Not connected: {outcome.reason ?? outcome.status}</Notice>
          )
        ) : null}

        {message ? <ErrorNotice message={message} /> : null}
        <div className="row">
          <button type="submit" className="button-primary" disabled={connecting.fetching}>
            {connecting.fetching ? 'Connecting…' : 'Proceed'}
          </button>
          <Link to="/devops">Cancel</Link>
        </div>
      </form>

      <Dialog
        title={addingKind === 'OAUTH_CLIENT_SECRET' ? 'Add an OAuth client secret' : 'Add a personal access token'}
        open={addingKind !== null}
        onClose={() => setAddingKind(null)}
      >
        {addingKind ? (
          <CredentialForm
            fixedKind={addingKind}
            initialUsername={addingKind === 'PERSONAL_ACCESS_TOKEN' ? login : ''}
            onCancel={() => setAddingKind(null)}
            onSaved={(saved) => {
              setAdded((list) => [...list, saved]);
              if (addingKind === 'PERSONAL_ACCESS_TOKEN') {
                setCredentialId(saved.id);
                if (!login && saved.username) setLogin(saved.username);
              } else setClientSecretCredentialId(saved.id);
              setAddingKind(null);
              refetchOptions({ requestPolicy: 'network-only' });
            }}
          />
        ) : null}
      </Dialog>
    </section>
  );
}

function SecretSourceChoice({
  name,
  value,
  onChange,
  newLabel,
  savedLabel,
}: {
  name: string;
  value: SecretSource;
  onChange: (value: SecretSource) => void;
  newLabel: string;
  savedLabel: string;
}) {
  return (
    <div className="choices" role="radiogroup" aria-label={name === 'token-source' ? 'Token' : 'Secret'}>
      <label>
        <input type="radio" name={name} checked={value === 'NEW'} onChange={() => onChange('NEW')} /> {newLabel}
      </label>
      <label>
        <input type="radio" name={name} checked={value === 'SAVED'} onChange={() => onChange('SAVED')} /> {savedLabel}
      </label>
    </div>
  );
}

function CredentialPicker({
  label,
  credentials,
  value,
  onChange,
  error,
  onAdd,
}: {
  label: string;
  credentials: { id: string; name: string; username?: string | null; fingerprint: string }[];
  value: string;
  onChange: (id: string) => void;
  error?: string;
  onAdd: () => void;
}) {
  return (
    <div className="row row-end">
      <div className="grow">
        <Field
          label={label}
          error={error}
          hint={
            credentials.length === 0
              ? 'Nothing of this kind in the Password Manager yet: add one.'
              : 'From the Password Manager.'
          }
        >
          <select value={value} onChange={(e) => onChange(e.target.value)}>
            <option value="">Choose…</option>
            {credentials.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
                {c.username ? ` (${c.username})` : ''} {c.fingerprint}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <button type="button" onClick={onAdd}>
        Add to Password Manager…
      </button>
    </div>
  );
}

/** Copies `text` to the clipboard and says so (or says to copy it by hand when the browser refuses). */
function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'refused'>('idle');
  return (
    <>
      <button
        type="button"
        onClick={() =>
          void (navigator.clipboard?.writeText(text) ?? Promise.reject(new Error('no clipboard'))).then(
            () => setState('copied'),
            () => setState('refused'),
          )
        }
      >
        Copy<span className="visually-hidden"> {label.replace(/^Copy /, '')}</span>
      </button>
      <span role="status" className="muted">
        {state === 'copied' ? 'Copied.' : state === 'refused' ? 'The browser refused: select it and copy it.' : ''}
      </span>
    </>
  );
}
