/**
 * The audit log (ADMIN only): every mutation and sign-in, newest first, a page at a time, filtered
 * by what the API filters on (operation, token, result, a date range), and downloadable as JSON
 * Lines with the same filters. The export needs the bearer token, so it is fetched and saved
 * rather than linked.
 */
import { useState, type FormEvent } from 'react';
import { useQuery } from 'urql';
import { problemOf } from '../../api/errors';
import { useSession } from '../../app/session';
import { AuditEventsDocument, AuditTokensDocument, type AuditResult } from '../../graphql/generated/graphql';
import { Field } from '../../ui/Field';
import { formatDateTime } from '../../ui/format';
import { Empty, ErrorNotice, Loading } from '../../ui/States';
import { StatusBadge } from '../../ui/StatusBadge';
import { AdminOnly, roleLabel } from '../tokens/ApiTokensPage';

const PAGE_SIZE = 25;
const EXPORT_PATH = '/audit/events.jsonl';

interface Filters {
  operation: string;
  result: '' | AuditResult;
  tokenId: string;
  /** YYYY-MM-DD, from the start of that day (UTC). */
  since: string;
  /** YYYY-MM-DD, to the end of that day (UTC). */
  until: string;
}

const NO_FILTERS: Filters = { operation: '', result: '', tokenId: '', since: '', until: '' };

function variablesOf(f: Filters) {
  return {
    operation: f.operation.trim() || null,
    result: f.result || null,
    tokenId: f.tokenId || null,
    since: f.since ? `${f.since}T00:00:00.000Z` : null,
    until: f.until ? `${f.until}T23:59:59.999Z` : null,
  };
}

/** `createApiToken` → "Create API token", `connectGitLab` → "Connect GitLab", `signIn` → "Sign in". */
export function operationWords(operation: string): string {
  const words = operation
    .replace(/GitLab/g, 'Gitlab')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .replace(/\bgitlab\b/g, 'GitLab')
    .replace(/\bapi\b/g, 'API');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function AuditPage() {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  // The cursors of the pages before this one, so Newer can go back.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1];
  const [events] = useQuery({
    query: AuditEventsDocument,
    variables: { first: PAGE_SIZE, after, ...variablesOf(filters) },
    requestPolicy: 'cache-and-network',
  });
  const [tokens] = useQuery({ query: AuditTokensDocument });
  const problem = problemOf(events.error);
  const page = events.data?.auditEvents;

  function apply(event: FormEvent) {
    event.preventDefault();
    setFilters(draft);
    setCursors([null]);
  }

  if (problem.code === 'FORBIDDEN') {
    return (
      <section aria-labelledby="audit-title">
        <div className="page-header">
          <h1 id="audit-title">Audit log</h1>
        </div>
        <AdminOnly what="the audit log" />
      </section>
    );
  }

  return (
    <section aria-labelledby="audit-title">
      <div className="page-header">
        <h1 id="audit-title">Audit log</h1>
        <span className="spacer" />
        <ExportButton filters={filters} />
      </div>
      <p className="muted">
        Every change made through Labkeeper and every sign-in: when, with which token, what was asked (secrets left
        out), and whether it worked.
      </p>

      <form className="filters" onSubmit={apply} aria-label="Filter the audit log">
        <Field
          label="Operation"
          hint={
            <>
              As the API names it, e.g. <code>runNow</code> or <code>signIn</code>.
            </>
          }
        >
          <input
            value={draft.operation}
            onChange={(e) => setDraft({ ...draft, operation: e.target.value })}
            autoComplete="off"
          />
        </Field>
        <Field label="Token">
          <select value={draft.tokenId} onChange={(e) => setDraft({ ...draft, tokenId: e.target.value })}>
            <option value="">Any token</option>
            {(tokens.data?.apiTokens ?? []).map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({roleLabel(t.role)})
              </option>
            ))}
          </select>
        </Field>
        <Field label="Result">
          <select
            value={draft.result}
            onChange={(e) => setDraft({ ...draft, result: e.target.value as Filters['result'] })}
          >
            <option value="">Any result</option>
            <option value="OK">Worked</option>
            <option value="ERROR">Refused or failed</option>
          </select>
        </Field>
        <Field label="From" error={problem.fields.since}>
          <input type="date" value={draft.since} onChange={(e) => setDraft({ ...draft, since: e.target.value })} />
        </Field>
        <Field label="To" error={problem.fields.until}>
          <input type="date" value={draft.until} onChange={(e) => setDraft({ ...draft, until: e.target.value })} />
        </Field>
        <div className="row filters-actions">
          <button type="submit" className="button-primary">
            Show
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(NO_FILTERS);
              setFilters(NO_FILTERS);
              setCursors([null]);
            }}
          >
            Clear filters
          </button>
        </div>
      </form>

      {events.fetching && !events.data ? <Loading /> : null}
      <ErrorNotice error={Object.keys(problem.fields).length > 0 ? null : events.error} />
      {page && page.nodes.length === 0 ? <Empty title="No audit event matches." /> : null}
      {page && page.nodes.length > 0 ? (
        <>
          <p className="muted" role="status">
            {page.totalCount} {page.totalCount === 1 ? 'event' : 'events'}; showing{' '}
            {cursors.length > 1 ? 'a later page' : 'the newest'}.
          </p>
          <div className="table-wrap">
            <table className="data-table" aria-label="Audit events">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Operation</th>
                  <th scope="col">Token</th>
                  <th scope="col">Result</th>
                  <th scope="col">From</th>
                  <th scope="col">Arguments</th>
                </tr>
              </thead>
              <tbody>
                {page.nodes.map((e) => (
                  <tr key={e.id}>
                    <td className="audit-when">
                      <time dateTime={e.at}>{formatDateTime(e.at)}</time>
                    </td>
                    <th scope="row">
                      {operationWords(e.operation)} <code className="muted">{e.operation}</code>
                    </th>
                    <td>
                      {e.tokenName ? (
                        `${e.tokenName} (${roleLabel(e.tokenRole ?? '')})`
                      ) : (
                        <span className="muted">none</span>
                      )}
                    </td>
                    <td>
                      {e.result === 'OK' ? (
                        <StatusBadge status="SUCCEEDED" />
                      ) : (
                        <>
                          <StatusBadge status="FAILED" /> <code>{e.errorCode}</code>
                        </>
                      )}
                    </td>
                    <td>
                      {e.clientAddress}{' '}
                      <span className="muted">over {e.transport === 'WEBSOCKET' ? 'WebSocket' : 'HTTP'}</span>
                    </td>
                    <td>
                      <details>
                        <summary>Show</summary>
                        <pre className="audit-arguments">{JSON.stringify(e.arguments, null, 2)}</pre>
                        {e.userAgent ? <p className="muted">Browser or client: {e.userAgent}</p> : null}
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="row">
            <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              Newer
            </button>
            <button
              type="button"
              disabled={!page.pageInfo.hasNextPage}
              onClick={() => setCursors([...cursors, page.pageInfo.endCursor ?? null])}
            >
              Older
            </button>
          </div>
        </>
      ) : null}
    </section>
  );
}

/** Downloads the log as JSON Lines (oldest first) with the filters shown. */
function ExportButton({ filters }: { filters: Filters }) {
  const { token } = useSession();
  const [state, setState] = useState<'idle' | 'busy' | 'failed'>('idle');
  async function download() {
    setState('busy');
    const query = new URLSearchParams(
      Object.entries(variablesOf(filters)).filter((entry): entry is [string, string] => !!entry[1]),
    );
    try {
      const response = await fetch(`${EXPORT_PATH}?${query}`, { headers: { authorization: `Bearer ${token}` } });
      if (!response.ok) throw new Error(String(response.status));
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement('a');
      link.href = url;
      link.download = `labkeeper-audit-${new Date().toISOString().slice(0, 10)}.jsonl`;
      link.click();
      URL.revokeObjectURL(url);
      setState('idle');
    } catch {
      setState('failed');
    }
  }
  return (
    <div className="row">
      <button type="button" onClick={download} disabled={state === 'busy'}>
        {state === 'busy' ? 'Preparing…' : 'Download as JSON Lines'}
      </button>
      {state === 'failed' ? <span className="text-bad">The download failed; try again.</span> : null}
    </div>
  );
}
