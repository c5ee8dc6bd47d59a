/**
 * Job editing as the Local API answers it: the job view (editable fields and their locks) and the
 * HTTP status of each reason the config editor refuses a change.
 */
import type { JobSummary, JobView } from '../api/types.js';
import { jobSettings, lockedFields, type EditProblem } from '../config/edit.js';
import type { LayerName } from '../config/layers.js';
import type { JobConfig } from '../config/schema.js';
import { ApiProblem } from './api-server.js';

const STATUS: Readonly<Record<EditProblem['code'], number>> = {
  'config.unknown-job': 404,
  'config.unknown-profile': 404,
  'config.invalid-value': 400,
  'config.not-editable': 400,
  // 423 Locked: the request is fine, the field belongs to the managed policy.
  'config.locked': 423,
  // The file on disk is broken or unreadable (changed by hand since the agent loaded it).
  'config.invalid': 409,
  'config.unreadable': 409,
  'config.unwritable': 409,
  // The file changed on disk between reading and writing (a hand edit): nothing was written.
  'config.changed': 409,
};

/** A refusal of the config editor as the API's `{code, message, hint}` with its status. */
export function editProblem(problem: EditProblem): ApiProblem {
  return new ApiProblem(STATUS[problem.code], problem.code, problem.message, problem.hint, problem.field);
}

/** A job as `GET /v1/jobs` shows it: the summary, its editable fields, and which are locked. */
export function jobView(summary: JobSummary, job: JobConfig, origins: ReadonlyMap<string, LayerName>): JobView {
  return { ...summary, settings: jobSettings(job), locked: lockedFields(origins, summary.name) };
}

/** 409 while the job has a session: the change would land in the middle of (or right before) a run. */
export function jobRunning(job: string, sessionId: string): ApiProblem {
  return new ApiProblem(
    409,
    'job.running',
    `"${job}" is backing up or queued (session ${sessionId}); its settings can't change during a run`,
    'Save again when the run has finished, or cancel it first.',
  );
}
