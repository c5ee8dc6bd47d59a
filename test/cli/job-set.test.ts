import { describe, expect, it } from 'vitest';
import { patchFor } from '../../src/cli/commands/job.js';
import { CliError } from '../../src/cli/exit-codes.js';

describe('backhaul job set: the patch sent to the agent', () => {
  it('lists take every value, streams a number, the rest one text', () => {
    expect(patchFor('sources', ['/a', '/b c'])).toEqual({ sources: ['/a', '/b c'] });
    expect(patchFor('excludes', [])).toEqual({ excludes: [] });
    expect(patchFor('streams', ['6'])).toEqual({ streams: 6 });
    expect(patchFor('bandwidthLimit', ['10 MiB/s'])).toEqual({ bandwidthLimit: '10 MiB/s' });
  });

  it('a non-number for streams goes to the agent as text, so its validator words the error', () => {
    expect(patchFor('streams', ['lots'])).toEqual({ streams: 'lots' });
  });

  it('several values for a one-value field are a usage error that says how to quote', () => {
    expect(() => patchFor('bandwidthLimit', ['10', 'MiB/s'])).toThrow(CliError);
    expect(() => patchFor('bandwidthLimit', ['10', 'MiB/s'])).toThrow('bandwidthLimit takes one value, got 2');
  });
});
