import { describe, expect, it } from 'vitest';
import { editProblem, jobRunning, jobView } from '../../src/agent/job-edit.js';
import { builtinDefaults, mergeLayers } from '../../src/config/layers.js';
import { validateConfigData } from '../../src/config/schema.js';

const user = { jobs: { nightly: { sources: ['/home/me'], repository: '/r', password: 'file:/p', bandwidthLimit: '20 Mbit/s' } } };

describe('the job view of the API', () => {
  it('has the editable fields, no secret, and the locks a policy layer sets', () => {
    const { data, origins } = mergeLayers(builtinDefaults(), { name: 'user', data: user }, { name: 'policy', data: { jobs: { nightly: { profile: 'direct' } } } });
    const checked = validateConfigData(data);
    if (!checked.success) throw new Error('invalid');
    const job = checked.data.jobs['nightly'];
    if (job === undefined) throw new Error('no job');
    const view = jobView({ name: 'nightly', engine: 'restic', profile: 'direct', repository: '/r' }, job, origins);
    expect(view.settings).toEqual({ sources: ['/home/me'], excludes: [], streams: 4, profile: 'direct', bandwidthLimit: '2441 KiB/s' });
    expect(view.locked).toEqual({ profile: expect.stringContaining("locked by your organisation's policy") as unknown });
    expect(JSON.stringify(view)).not.toContain('file:/p');
  });

  it('answers each refusal with its status, and names the field', () => {
    expect(editProblem({ code: 'config.locked', field: 'streams', message: 'm', hint: 'h' })).toMatchObject({ status: 423, code: 'config.locked', field: 'streams' });
    expect(editProblem({ code: 'config.invalid-value', field: 'streams', message: 'm', hint: 'h' }).status).toBe(400);
    expect(editProblem({ code: 'config.not-editable', field: 'password', message: 'm', hint: 'h' }).status).toBe(400);
    expect(editProblem({ code: 'config.unknown-job', message: 'm', hint: 'h' }).status).toBe(404);
    expect(editProblem({ code: 'config.invalid', message: 'm', hint: 'h' }).status).toBe(409);
    expect(jobRunning('nightly', 's1')).toMatchObject({ status: 409, code: 'job.running', message: expect.stringContaining('s1') as unknown });
  });
});
