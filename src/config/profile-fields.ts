/**
 * Which fields of a VPN profile a client (the UI, the CLI) may change through the agent: where the
 * tunnel goes and how it is kept up. Pure types and constants, like job-fields.ts.
 *
 * Not editable, and why: `auth` holds secret references (a client never sends or receives
 * secrets); `type` makes it a different tunnel with different secrets; `cipherPolicy` and the
 * proposals decide which algorithms are acceptable — a security decision for whoever owns the
 * file (or the managed policy), not a setting to flip from a form.
 */

/** The everyday fields of a profile, in the order a form shows them. */
export const EDITABLE_PROFILE_FIELDS = [
  'gateways',
  'routes',
  'fullTunnel',
  'mtu',
  'driver',
  'keepaliveSeconds',
  'keepaliveFailures',
  'stallIntervals',
  'reconnectAttempts',
  'reconnectDeadlineSeconds',
  'mssClamp',
] as const;
export type EditableProfileField = (typeof EDITABLE_PROFILE_FIELDS)[number];

/** Profile keys that exist but can only be changed in the config file, with the reason shown. */
export const NOT_EDITABLE_PROFILE_FIELDS: Readonly<Record<string, string>> = {
  auth: 'authentication holds secret references, and the UI never sends or receives secrets; change it in the config file',
  type: 'a different tunnel type needs different secrets and a different native entry; change it in the config file',
  cipherPolicy: 'which algorithms are acceptable is a security decision; change it in the config file (or the managed policy)',
  ikeProposals: 'cipher proposals are checked against the cipher policy; change them in the config file',
  espProposals: 'cipher proposals are checked against the cipher policy; change them in the config file',
};

/**
 * A change to a profile: each given field replaces the profile's value; `null` removes the key from
 * the file, so it goes back to its default (`gateways` has none and is then reported as required).
 */
export type ProfilePatch = {
  readonly gateways?: readonly string[] | null;
  readonly routes?: readonly string[] | null;
  readonly fullTunnel?: boolean | null;
  readonly mtu?: number | null;
  readonly driver?: 'auto' | 'linux-nm' | 'linux-swan' | null;
  readonly keepaliveSeconds?: number | null;
  readonly keepaliveFailures?: number | null;
  readonly stallIntervals?: number | null;
  readonly reconnectAttempts?: number | null;
  readonly reconnectDeadlineSeconds?: number | null;
  readonly mssClamp?: boolean | null;
};

/** The editable fields as the agent runs with them (defaults filled in). */
export interface ProfileSettings {
  readonly gateways: readonly string[];
  readonly routes: readonly string[];
  readonly fullTunnel: boolean;
  /** Absent: computed from the encapsulation overhead and confirmed by a probe. */
  readonly mtu?: number;
  readonly driver: 'auto' | 'linux-nm' | 'linux-swan';
  readonly keepaliveSeconds: number;
  readonly keepaliveFailures: number;
  readonly stallIntervals: number;
  readonly reconnectAttempts: number;
  readonly reconnectDeadlineSeconds: number;
  readonly mssClamp: boolean;
}

/** Fields that can't be changed here (a managed policy sets them), each with the reason to show. */
export type ProfileLocks = Readonly<Partial<Record<EditableProfileField, string>>>;
