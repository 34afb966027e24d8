/** A time of day as <input type="time">; forwards Field's id and aria props to the input. */
import type { InputHTMLAttributes } from 'react';

export function TimeInput({
  value,
  onValue,
  ...rest
}: { value: string; onValue: (value: string) => void } & Omit<
  InputHTMLAttributes<HTMLInputElement>,
  'value' | 'onChange' | 'type'
>) {
  return <input {...rest} type="time" value={value} onChange={(e) => onValue(e.target.value)} />;
}
