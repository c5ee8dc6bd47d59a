/**
 * Which fields of a job a client (the UI, the CLI) may change through the agent, and the shape of
 * such a change. Pure types and constants: safe for the browser bundle, shared by the agent's
 * config editor (`edit.ts`) and the Local API types.
 *
 * Secrets are not editable: `password` (and `ssh.identity`) are references to where a secret is
 * kept, and the UI never holds or sends secrets — choosing where one lives is done in the file,
 * by the person who also puts the secret there with the right owner and mode. The `repository`
 * and `engine` are not editable either: a different repository needs `backhaul init` and its own
 * password, and a different engine is a different job.
 */

/** The everyday fields of a job, in the order a form shows them. */
export const EDITABLE_JOB_FIELDS = ['sources', 'excludes', 'streams', 'bandwidthLimit', 'profile'] as const;
export type EditableJobField = (typeof EDITABLE_JOB_FIELDS)[number];

/** Job keys that exist but can only be changed in the config file, with the reason shown to the user. */
export const NOT_EDITABLE_JOB_FIELDS: Readonly<Record<string, string>> = {
  password: 'the repository password is a secret: the UI never sends or receives secrets, so set where it is kept (file:/path) in the config file',
  repository: 'a different repository needs `backhaul init` and its own password; change it in the config file',
  engine: 'a different engine is a different kind of job; change it in the config file',
  ssh: 'the SSH host and key (a secret reference) are set in the config file',
  mirror: 'mirroring deletes files on the destination; change it in the config file',
  timeouts: 'rsync timeouts are set in the config file',
  hooks: 'hooks run commands as the agent\'s user, so only the config file can set them, never a client of the API',
  notify: 'notification URLs often carry a token; set them in the config file',
};

/**
 * A change to a job: each given field replaces the job's value; `null` removes the key from the
 * file, so the field goes back to its default (streams 4, no excludes, no bandwidth limit,
 * profile "direct"; sources have no default and are then reported as required).
 */
export type JobPatch = {
  readonly sources?: readonly string[] | null;
  readonly excludes?: readonly string[] | null;
  readonly streams?: number | null;
  /** A rate such as "10 MiB/s", "500 KiB/s" or "20 Mbit/s". */
  readonly bandwidthLimit?: string | null;
  readonly profile?: string | null;
};

/** The editable fields as they would be written in the file (the limit as a rate, not KiB/s). */
export interface JobSettings {
  readonly sources: readonly string[];
  readonly excludes: readonly string[];
  readonly streams: number;
  /** Absent when uploads are unlimited. */
  readonly bandwidthLimit?: string;
  readonly profile: string;
}

/** Fields that can't be changed here, each with the reason to show next to it. */
export type FieldLocks = Readonly<Partial<Record<EditableJobField, string>>>;
