/**
 * When backups run: the schedule type and the fields that type uses (policy.types.ts):
 * BASIC (monthly full + daily incremental at one time), GFS (monthly full, weekly differential,
 * daily incremental), FOREVER_INCREMENTAL (one full, then incrementals HOURLY/DAILY/WEEKLY/MONTHLY),
 * CUSTOM (full and incremental each with weekdays, days of the month and times), MANUAL.
 */
import { useId } from 'react';
import type { BackupScheduleType } from '../../graphql/generated/graphql';
import { Field } from '../../ui/Field';
import { errorAt, WEEKDAYS, type CopyScheduleDraft } from './policy-draft';
import type { SectionProps } from './section';
import { TimeInput } from './TimeInput';

const TYPES: { value: BackupScheduleType; label: string; hint: string }[] = [
  {
    value: 'BASIC',
    label: 'Basic',
    hint: 'A full copy once a month, an incremental copy every other day, at one time.',
  },
  {
    value: 'GFS',
    label: 'Grandfather-father-son (GFS)',
    hint: 'A monthly full copy, a weekly differential copy and daily incremental copies.',
  },
  {
    value: 'FOREVER_INCREMENTAL',
    label: 'Forever incremental',
    hint: 'One full copy, then only incremental copies at a fixed cadence.',
  },
  { value: 'CUSTOM', label: 'Custom', hint: 'Choose the days and times of full and of incremental copies yourself.' },
  { value: 'MANUAL', label: 'Manual only', hint: 'Backups start only from Run now or the API.' },
];

export function ScheduleFieldset({ draft, update, fields }: SectionProps) {
  const s = draft.schedule;
  const type = TYPES.find((t) => t.value === s.type);
  return (
    <fieldset>
      <legend>Schedule</legend>
      <Field label="Schedule type" hint={type?.hint} error={errorAt(fields, 'schedule.type')}>
        <select
          value={s.type}
          onChange={(e) => update((d) => void (d.schedule.type = e.target.value as BackupScheduleType))}
        >
          {TYPES.map((t) => (
            <option key={t.value} value={t.value}>
              {t.label}
            </option>
          ))}
        </select>
      </Field>

      {s.type === 'FOREVER_INCREMENTAL' ? (
        <Field label="Every" error={errorAt(fields, 'schedule.every')}>
          <select value={s.every} onChange={(e) => update((d) => void (d.schedule.every = e.target.value))}>
            <option value="HOURLY">Hour</option>
            <option value="DAILY">Day</option>
            <option value="WEEKLY">Week</option>
            <option value="MONTHLY">Month</option>
          </select>
        </Field>
      ) : null}

      {s.type === 'BASIC' || s.type === 'GFS' || s.type === 'FOREVER_INCREMENTAL' ? (
        <Field
          label="Start time"
          hint={
            s.type === 'FOREVER_INCREMENTAL' && s.every === 'HOURLY'
              ? 'Only the minute counts: a copy starts every hour at this minute.'
              : 'In the policy’s time zone.'
          }
          error={errorAt(fields, 'schedule.time')}
        >
          <TimeInput value={s.time} onValue={(v) => update((d) => void (d.schedule.time = v))} />
        </Field>
      ) : null}

      {s.type === 'BASIC' || s.type === 'GFS' ? (
        <Field
          label="Day of the month for the full copy"
          hint="1–31; 31 means the last day of shorter months."
          error={errorAt(fields, 'schedule.fullDayOfMonth')}
        >
          <input
            type="number"
            inputMode="numeric"
            min={1}
            max={31}
            value={s.fullDayOfMonth}
            onChange={(e) => update((d) => void (d.schedule.fullDayOfMonth = e.target.value))}
          />
        </Field>
      ) : null}

      {s.type === 'GFS' ? (
        <Field label="Weekday of the differential copy" error={errorAt(fields, 'schedule.differentialWeekday')}>
          <WeekdaySelect
            value={s.differentialWeekday}
            onValue={(v) => update((d) => void (d.schedule.differentialWeekday = v))}
          />
        </Field>
      ) : null}

      {s.type === 'FOREVER_INCREMENTAL' && s.every === 'WEEKLY' ? (
        <Field label="Weekday" error={errorAt(fields, 'schedule.weekday')}>
          <WeekdaySelect value={s.weekday} onValue={(v) => update((d) => void (d.schedule.weekday = v))} />
        </Field>
      ) : null}

      {s.type === 'FOREVER_INCREMENTAL' && s.every === 'MONTHLY' ? (
        <Field
          label="Day of the month"
          hint="1–31; 31 means the last day of shorter months."
          error={errorAt(fields, 'schedule.dayOfMonth')}
        >
          <input
            type="number"
            inputMode="numeric"
            min={1}
            max={31}
            value={s.dayOfMonth}
            onChange={(e) => update((d) => void (d.schedule.dayOfMonth = e.target.value))}
          />
        </Field>
      ) : null}

      {s.type === 'CUSTOM' ? (
        <>
          <CopyScheduleEditor
            title="Full copies"
            path="schedule.full"
            value={s.full}
            fields={fields}
            onChange={(recipe) => update((d) => recipe(d.schedule.full))}
          />
          <CopyScheduleEditor
            title="Incremental copies"
            path="schedule.incremental"
            value={s.incremental}
            fields={fields}
            onChange={(recipe) => update((d) => recipe(d.schedule.incremental))}
          />
        </>
      ) : null}
    </fieldset>
  );
}

function WeekdaySelect({ value, onValue, ...rest }: { value: string; onValue: (value: string) => void }) {
  return (
    <select {...rest} value={value} onChange={(e) => onValue(e.target.value)}>
      {WEEKDAYS.map((name, index) => (
        <option key={name} value={String(index)}>
          {name}
        </option>
      ))}
    </select>
  );
}

function CopyScheduleEditor({
  title,
  path,
  value,
  fields,
  onChange,
}: {
  title: string;
  path: string;
  value: CopyScheduleDraft;
  fields: Record<string, string>;
  onChange: (recipe: (copy: CopyScheduleDraft) => void) => void;
}) {
  const weekdaysError = errorAt(fields, `${path}.weekdays`);
  const timesError = fields[`${path}.times`];
  const hintId = useId();
  return (
    <fieldset className="nested">
      <legend>{title}</legend>
      <fieldset className="plain" aria-describedby={hintId}>
        <legend className="field-legend">Weekdays</legend>
        <div className="choices">
          {WEEKDAYS.map((name, index) => (
            <label key={name}>
              <input
                type="checkbox"
                checked={value.weekdays.includes(index)}
                onChange={(e) =>
                  onChange((c) => {
                    c.weekdays = e.target.checked
                      ? [...c.weekdays, index].sort()
                      : c.weekdays.filter((w) => w !== index);
                  })
                }
              />
              {name.slice(0, 3)}
            </label>
          ))}
        </div>
        <p className="field-hint" id={hintId}>
          None ticked: every day (unless days of the month are given).
        </p>
        {weekdaysError ? <p className="field-error">{weekdaysError}</p> : null}
      </fieldset>
      <Field
        label={`Days of the month (${title.toLowerCase()})`}
        hint="Comma-separated, e.g. 1, 15. Empty: not by date."
        error={errorAt(fields, `${path}.daysOfMonth`)}
      >
        <input
          type="text"
          inputMode="numeric"
          value={value.daysOfMonth}
          onChange={(e) => onChange((c) => void (c.daysOfMonth = e.target.value))}
        />
      </Field>
      <fieldset className="plain">
        <legend className="field-legend">Times</legend>
        {value.times.map((time, index) => (
          <div className="row" key={index}>
            <Field label={`${title}: time ${index + 1}`} error={errorAt(fields, `${path}.times[${index}]`)}>
              <TimeInput value={time} onValue={(v) => onChange((c) => void (c.times[index] = v))} />
            </Field>
            <button
              type="button"
              className="button-quiet"
              aria-label={`Remove time ${index + 1} of ${title.toLowerCase()}`}
              onClick={() => onChange((c) => void c.times.splice(index, 1))}
            >
              Remove
            </button>
          </div>
        ))}
        <button type="button" onClick={() => onChange((c) => void c.times.push('01:00'))}>
          Add a time
        </button>
        {timesError ? <p className="field-error">{timesError}</p> : null}
      </fieldset>
    </fieldset>
  );
}
