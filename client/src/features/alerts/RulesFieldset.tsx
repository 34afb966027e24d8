/**
 * A channel's rules: which events it is told about, the thresholds for expiring tokens and stale
 * repositories (empty: off), and the summary report (none, daily or weekly). Many failures at once
 * arrive as one digest; that needs no setting.
 */
import type {
  AlertRulesInput,
  NotificationChannelFieldsFragment,
  SummaryCadence,
} from '../../graphql/generated/graphql';
import { Checkbox, Field } from '../../ui/Field';

type Rules = NotificationChannelFieldsFragment['rules'];
type Switch =
  'runFailed' | 'runPartial' | 'runSucceeded' | 'drillFailed' | 'syncFailed' | 'storageErrors' | 'anomalies';

export interface RulesDraft extends Pick<Rules, Switch> {
  tokenExpiringWithinDays: string;
  staleAfterHours: string;
  summary: '' | SummaryCadence;
  summaryHour: string;
  summaryTimeZone: string;
}

const SWITCHES: { key: Switch; label: string }[] = [
  { key: 'runFailed', label: 'A backup failed' },
  { key: 'runPartial', label: 'A backup partly failed' },
  { key: 'runSucceeded', label: 'A backup succeeded' },
  { key: 'drillFailed', label: 'A restore drill failed' },
  { key: 'syncFailed', label: 'Finding an organization’s repositories failed' },
  { key: 'storageErrors', label: 'A storage problem (a copy or a check of a snapshot failed)' },
  { key: 'anomalies', label: 'An unusual change (force-push, mass deletion, a repository emptied…)' },
];

/** The server's defaults for a new channel. */
export function rulesDraftOf(rules: Rules | null): RulesDraft {
  return {
    runFailed: rules?.runFailed ?? true,
    runPartial: rules?.runPartial ?? true,
    runSucceeded: rules?.runSucceeded ?? false,
    drillFailed: rules?.drillFailed ?? true,
    syncFailed: rules?.syncFailed ?? true,
    storageErrors: rules?.storageErrors ?? true,
    anomalies: rules?.anomalies ?? true,
    tokenExpiringWithinDays: rules ? String(rules.tokenExpiringWithinDays ?? '') : '14',
    staleAfterHours: rules ? String(rules.staleAfterHours ?? '') : '48',
    summary: rules?.summary ?? '',
    summaryHour: String(rules?.summaryHour ?? 0),
    summaryTimeZone: rules?.summaryTimeZone ?? browserTimeZone(),
  };
}

/** Numbers as typed (the API says what is wrong with them); empty means off. */
export function rulesInputOf(d: RulesDraft): AlertRulesInput {
  const number = (text: string) => (text.trim() === '' ? null : Number(text));
  const switches = Object.fromEntries(SWITCHES.map(({ key }) => [key, d[key]])) as Pick<Rules, Switch>;
  return {
    ...switches,
    tokenExpiringWithinDays: number(d.tokenExpiringWithinDays),
    staleAfterHours: number(d.staleAfterHours),
    summary: d.summary || null,
    summaryHour: number(d.summaryHour),
    summaryTimeZone: d.summaryTimeZone.trim() || null,
  };
}

/** A new channel's summaries follow the clock of the person setting it up. */
function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** The zones the browser knows, to pick from (typing any IANA name works too). */
function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  return intl.supportedValuesOf?.('timeZone') ?? ['UTC'];
}

const HOURS = Array.from({ length: 24 }, (_, h) => h);

export function RulesFieldset({
  rules,
  onChange,
  errors,
}: {
  rules: RulesDraft;
  onChange: (rules: RulesDraft) => void;
  errors: Record<string, string>;
}) {
  const set = (patch: Partial<RulesDraft>) => onChange({ ...rules, ...patch });
  return (
    <fieldset>
      <legend>Tell this channel when</legend>
      {SWITCHES.map(({ key, label }) => (
        <Checkbox key={key} label={label} checked={rules[key]} onChange={(value) => set({ [key]: value })} />
      ))}
      <Field
        label="A connection’s token expires within (days)"
        hint="Also when it has expired. Leave empty to turn this off."
        error={errors['rules.tokenExpiringWithinDays']}
      >
        <input
          inputMode="numeric"
          value={rules.tokenExpiringWithinDays}
          onChange={(e) => set({ tokenExpiringWithinDays: e.target.value })}
        />
      </Field>
      <Field
        label="A repository has no successful backup for (hours)"
        hint="Leave empty to turn this off."
        error={errors['rules.staleAfterHours']}
      >
        <input
          inputMode="numeric"
          value={rules.staleAfterHours}
          onChange={(e) => set({ staleAfterHours: e.target.value })}
        />
      </Field>
      <Field
        label="Summary report"
        hint="Per organization: runs, failures, new and deleted repositories, storage growth."
        error={errors['rules.summary']}
      >
        <select value={rules.summary} onChange={(e) => set({ summary: e.target.value as RulesDraft['summary'] })}>
          <option value="">No summary</option>
          <option value="DAILY">Every day</option>
          <option value="WEEKLY">Every week (on Monday)</option>
        </select>
      </Field>
      {rules.summary ? (
        <div className="row summary-when">
          <Field
            label="Summary hour"
            hint="The day ends, and its summary is sent, at this hour."
            error={errors['rules.summaryHour']}
          >
            <select value={rules.summaryHour} onChange={(e) => set({ summaryHour: e.target.value })}>
              {HOURS.map((h) => (
                <option key={h} value={String(h)}>
                  {String(h).padStart(2, '0')}:00
                </option>
              ))}
            </select>
          </Field>
          <Field
            label="Summary time zone"
            hint="For example Europe/Warsaw or UTC."
            error={errors['rules.summaryTimeZone']}
          >
            <input
              value={rules.summaryTimeZone}
              onChange={(e) => set({ summaryTimeZone: e.target.value })}
              autoComplete="off"
              list="time-zones"
            />
          </Field>
          <datalist id="time-zones">
            {timeZones().map((zone) => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
        </div>
      ) : null}
      <p className="muted">When many things fail at once, they arrive together in one digest rather than one by one.</p>
    </fieldset>
  );
}
