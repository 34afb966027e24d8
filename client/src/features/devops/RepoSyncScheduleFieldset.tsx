/**
 * The repository sync schedule: specific hours of the day in a time zone, or an interval in
 * minutes (15 minutes to 7 days). Kept as a draft the user edits; `scheduleInput` makes the API's
 * RepoSyncScheduleInput of it.
 */
import { Field } from '../../ui/Field';
import type { RepoSyncScheduleInput } from '../../graphql/generated/graphql';

export interface ScheduleDraft {
  kind: 'HOURS' | 'INTERVAL';
  hours: number[];
  timeZone: string;
  intervalMinutes: string;
}

export const defaultSchedule = (): ScheduleDraft => ({
  kind: 'INTERVAL',
  hours: [2],
  timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
  intervalMinutes: '360',
});

export function scheduleInput(draft: ScheduleDraft): RepoSyncScheduleInput {
  if (draft.kind === 'HOURS')
    return { kind: 'HOURS', hours: [...draft.hours].sort((a, b) => a - b), timeZone: draft.timeZone.trim() };
  return { kind: 'INTERVAL', intervalMinutes: Number(draft.intervalMinutes) };
}

const HOURS = Array.from({ length: 24 }, (_, h) => h);
const TIME_ZONES: string[] = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf(key: string): string[] }).supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
})();

export function RepoSyncScheduleFieldset({
  value,
  onChange,
  errors,
}: {
  value: ScheduleDraft;
  onChange: (next: ScheduleDraft) => void;
  errors: { hours?: string; timeZone?: string; intervalMinutes?: string; other?: string };
}) {
  const set = (patch: Partial<ScheduleDraft>) => onChange({ ...value, ...patch });
  return (
    <fieldset>
      <legend>Repository sync</legend>
      <p className="muted">When Labkeeper re-discovers the organization's repositories and groups.</p>
      {errors.other ? <p className="field-error">{errors.other}</p> : null}
      <div className="choices" role="radiogroup" aria-label="Repository sync schedule">
        <label>
          <input
            type="radio"
            name="sync-kind"
            checked={value.kind === 'HOURS'}
            onChange={() => set({ kind: 'HOURS' })}
          />{' '}
          Specific hours of the day
        </label>
        <label>
          <input
            type="radio"
            name="sync-kind"
            checked={value.kind === 'INTERVAL'}
            onChange={() => set({ kind: 'INTERVAL' })}
          />{' '}
          At an interval
        </label>
      </div>
      {value.kind === 'HOURS' ? (
        <>
          <fieldset
            className={`hours${errors.hours ? ' field-invalid' : ''}`}
            aria-describedby={errors.hours ? 'sync-hours-error' : undefined}
          >
            <legend>Hours of the day</legend>
            <div className="hour-grid">
              {HOURS.map((hour) => (
                <label key={hour} className="hour">
                  <input
                    type="checkbox"
                    checked={value.hours.includes(hour)}
                    onChange={(e) =>
                      set({ hours: e.target.checked ? [...value.hours, hour] : value.hours.filter((h) => h !== hour) })
                    }
                  />
                  {String(hour).padStart(2, '0')}:00
                </label>
              ))}
            </div>
            {errors.hours ? (
              <p className="field-error" id="sync-hours-error">
                {errors.hours}
              </p>
            ) : null}
          </fieldset>
          <Field label="Time zone" error={errors.timeZone} hint="An IANA time zone, e.g. Europe/Warsaw or UTC.">
            <input
              type="text"
              list="time-zones"
              value={value.timeZone}
              onChange={(e) => set({ timeZone: e.target.value })}
            />
          </Field>
          <datalist id="time-zones">
            {TIME_ZONES.map((zone) => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
        </>
      ) : (
        <Field
          label="Interval (minutes)"
          error={errors.intervalMinutes}
          hint="From 15 minutes to 10080 (7 days). 360 = every 6 hours."
        >
          <input
            type="number"
            min={15}
            max={10080}
            step={1}
            value={value.intervalMinutes}
            onChange={(e) => set({ intervalMinutes: e.target.value })}
          />
        </Field>
      )}
    </fieldset>
  );
}
