import { describe, expect, it } from '@jest/globals';
import { redactArguments } from '../../server/src/audit/audit-redact.js';

describe('redactArguments', () => {
  it('keeps no user or password of a URL, wherever it is in a value', () => {
    expect(redactArguments({ note: 'see https://alice:s3cret@gitlab.example.com/x and git+ssh://bob@host/y' })).toEqual(
      { note: 'see https://gitlab.example.com/x and git+ssh://host/y' },
    );
  });

  it('takes time linear in a long value (a run of letters once took a minute of CPU)', () => {
    const long = 'x'.repeat(200_000);
    const started = process.hrtime.bigint();
    expect(redactArguments({ namespacePath: long, url: `${long}://u:p@h` })).toEqual({
      namespacePath: long,
      url: `${long}://h`,
    });
    // Quadratic, this is ~10^10 steps (minutes); linear, milliseconds.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(5_000);
  });
});
