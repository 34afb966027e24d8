/**
 * Restore drills: whether scheduled drills run, their cadence (in the policy's time zone), how many
 * repositories each drill restores, and where (a scratch bare repository, or a GitLab group kept
 * for drills through a Connection). `runDrill` on the organization page works either way.
 */
import type { DrillTargetKind } from '../../graphql/generated/graphql';
import { Checkbox, Field } from '../../ui/Field';
import { errorAt, WEEKDAYS } from './policy-draft';
import type { SectionProps } from './section';
import { TimeInput } from './TimeInput';

export function DrillFieldset({
  draft,
  update,
  fields,
  connections,
}: SectionProps & { connections: { id: string; instanceUrl: string; login: string | null }[] }) {
  const d = draft.drill;
  const own = fields['drill'];
  return (
    <fieldset>
      <legend>Restore drills</legend>
      <p className="field-hint">
        A drill restores a random sample of repositories from their latest snapshot and checks every artifact, ref, LFS
        object and metadata record, proving the backups restore.
      </p>
      <Checkbox
        label="Run restore drills on a schedule"
        checked={d.enabled}
        hint="Off: drills run only from Run drill now on the organization page."
        onChange={(on) => update((x) => void (x.drill.enabled = on))}
      />
      {/* When drills are off there is no schedule to set: only the sample size (Run drill now uses it). */}
      {d.enabled ? (
        <>
          <Field label="Drill every" error={errorAt(fields, 'drill.every')}>
            <select value={d.every} onChange={(e) => update((x) => void (x.drill.every = e.target.value))}>
              <option value="DAILY">Day</option>
              <option value="WEEKLY">Week</option>
              <option value="MONTHLY">Month</option>
            </select>
          </Field>
          {d.every === 'WEEKLY' ? (
            <Field label="Drill weekday" error={errorAt(fields, 'drill.weekday')}>
              <select value={d.weekday} onChange={(e) => update((x) => void (x.drill.weekday = e.target.value))}>
                {WEEKDAYS.map((name, index) => (
                  <option key={name} value={String(index)}>
                    {name}
                  </option>
                ))}
              </select>
            </Field>
          ) : null}
          {d.every === 'MONTHLY' ? (
            <Field
              label="Drill day of the month"
              hint="1–31; 31 means the last day of shorter months."
              error={errorAt(fields, 'drill.dayOfMonth')}
            >
              <input
                type="number"
                inputMode="numeric"
                min={1}
                max={31}
                value={d.dayOfMonth}
                onChange={(e) => update((x) => void (x.drill.dayOfMonth = e.target.value))}
              />
            </Field>
          ) : null}
          <Field label="Drill time" hint="In the policy’s time zone." error={errorAt(fields, 'drill.time')}>
            <TimeInput value={d.time} onValue={(v) => update((x) => void (x.drill.time = v))} />
          </Field>
        </>
      ) : null}
      <Field
        label="Sample size"
        hint="Repositories restored per drill (1–100), picked at random among those with a snapshot."
        error={errorAt(fields, 'drill.sampleSize')}
      >
        <input
          type="number"
          inputMode="numeric"
          min={1}
          max={100}
          value={d.sampleSize}
          onChange={(e) => update((x) => void (x.drill.sampleSize = e.target.value))}
        />
      </Field>
      <div className="choices" role="radiogroup" aria-label="Drill target">
        <label>
          <input
            type="radio"
            name="drill-target"
            checked={d.kind === 'LOCAL_BARE'}
            onChange={() => update((x) => void (x.drill.kind = 'LOCAL_BARE' as DrillTargetKind))}
          />
          Scratch bare repository (git only, deleted afterwards)
        </label>
        <label>
          <input
            type="radio"
            name="drill-target"
            checked={d.kind === 'SCRATCH_NAMESPACE'}
            onChange={() => update((x) => void (x.drill.kind = 'SCRATCH_NAMESPACE' as DrillTargetKind))}
          />
          A GitLab group kept for drills (a new project, deleted afterwards)
        </label>
      </div>
      {errorAt(fields, 'drill.target.kind') ? (
        <p className="field-error">{errorAt(fields, 'drill.target.kind')}</p>
      ) : null}
      {d.kind === 'SCRATCH_NAMESPACE' ? (
        <>
          <Field
            label="Drill connection"
            hint="A Connection with the api scope; drills restore through it."
            error={errorAt(fields, 'drill.target.connectionId')}
          >
            <select
              value={d.connectionId}
              onChange={(e) => update((x) => void (x.drill.connectionId = e.target.value))}
            >
              <option value="">Choose a connection…</option>
              {connections.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.login ? `${c.login} @ ${c.instanceUrl}` : c.instanceUrl}
                </option>
              ))}
            </select>
          </Field>
          <Field
            label="Drill group path"
            hint="e.g. acme/drills — drill projects are created and deleted there."
            error={errorAt(fields, 'drill.target.namespacePath')}
          >
            <input
              type="text"
              value={d.namespacePath}
              onChange={(e) => update((x) => void (x.drill.namespacePath = e.target.value))}
            />
          </Field>
        </>
      ) : null}
      {own ? <p className="field-error">{own}</p> : null}
    </fieldset>
  );
}
