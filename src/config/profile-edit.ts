/**
 * Changing a VPN profile's everyday fields in the user's config file: the same editor as jobs
 * (edit.ts — comments and layout kept, the whole file validated with the policy on top, a copy of
 * the old file kept, atomic write, policy locks refused), aimed at `profiles.NAME`.
 */
import { editEntry, lockedFieldsOf, type EditJobRequest, type EditResult, type EditTarget } from './edit.js';
import type { LayerName } from './layers.js';
import { EDITABLE_PROFILE_FIELDS, NOT_EDITABLE_PROFILE_FIELDS, type EditableProfileField, type ProfileLocks, type ProfileSettings } from './profile-fields.js';
import type { ProfileConfig } from './schema.js';

/** What to do about an invalid value of each field (the schema's message says what is valid). */
const PROFILE_HINTS: Readonly<Record<EditableProfileField, string>> = {
  gateways: 'List at least one VPN server as a host name or IP address, without a port or URL.',
  routes: 'Give the networks to send through the tunnel as CIDRs, e.g. 10.99.0.0/24, or none with fullTunnel.',
  fullTunnel: 'Use true (everything through the tunnel; then no routes) or false (only routes).',
  mtu: 'Use a whole number from 576 to 1500, or leave it empty to have it computed.',
  driver: 'Use auto, linux-nm or linux-swan.',
  keepaliveSeconds: 'Use a whole number from 5 to 300; 30 is the default.',
  keepaliveFailures: 'Use a whole number from 1 to 20; 4 is the default.',
  stallIntervals: 'Use a whole number from 2 to 20; 4 is the default.',
  reconnectAttempts: 'Use a whole number from 1 to 100; 10 is the default.',
  reconnectDeadlineSeconds: 'Use a whole number from 10 to 840 (restic gives up after 15 minutes); 600 is the default.',
  mssClamp: 'Use true or false.',
};

function profileTarget(name: string): EditTarget {
  return { collection: 'profiles', name, editable: EDITABLE_PROFILE_FIELDS, notEditable: NOT_EDITABLE_PROFILE_FIELDS, hints: PROFILE_HINTS };
}

export interface EditProfileRequest extends Omit<EditJobRequest, 'job'> {
  readonly profile: string;
}

/** Applies `patch` to `profiles.<profile>`. Never rejects for bad input: every refusal is an EditProblem. */
export function editProfile(request: EditProfileRequest): Promise<EditResult> {
  return editEntry(request, profileTarget(request.profile));
}

/** The editable fields of `profile` a managed policy sets, each with the reason to show. */
export function lockedProfileFields(origins: ReadonlyMap<string, LayerName>, profile: string): ProfileLocks {
  return lockedFieldsOf(origins, profileTarget(profile));
}

/** A profile's editable fields as the agent runs with them. */
export function profileSettings(profile: ProfileConfig): ProfileSettings {
  return {
    gateways: profile.gateways,
    routes: profile.routes,
    fullTunnel: profile.fullTunnel,
    ...(profile.mtu === undefined ? {} : { mtu: profile.mtu }),
    driver: profile.driver,
    keepaliveSeconds: profile.keepaliveSeconds,
    keepaliveFailures: profile.keepaliveFailures,
    stallIntervals: profile.stallIntervals,
    reconnectAttempts: profile.reconnectAttempts,
    reconnectDeadlineSeconds: profile.reconnectDeadlineSeconds,
    mssClamp: profile.mssClamp,
  };
}
