/**
 * The sample PPPC profile that docs/doctor.md and host.full-disk-access point IT to: a well-formed
 * plist with the TCC payload (Apple's PrivacyPreferencesPolicyControl: payload type
 * com.apple.TCC.configuration-profile-policy, Services.SystemPolicyAllFiles entries with
 * Identifier, IdentifierType, CodeRequirement and Authorization) naming the program the launchd
 * daemon really runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'plist';
import { describe, expect, it } from 'vitest';
import { MACOS_PKG_AGENT_ARGV } from '../../../src/os/service/launchd-plist.js';

const path = join(import.meta.dirname, '..', '..', '..', 'resources', 'macos', 'backhaul-pppc.mobileconfig');

describe('resources/macos/backhaul-pppc.mobileconfig', () => {
  it('grants SystemPolicyAllFiles to the agent\'s executable, with the macOS 11+ Authorization key only', () => {
    const profile = parse(readFileSync(path, 'utf8')) as { PayloadType: string; PayloadScope: string; PayloadContent: { PayloadType: string; Services: { SystemPolicyAllFiles: Record<string, unknown>[] } }[] };
    expect(profile.PayloadType).toBe('Configuration');
    expect(profile.PayloadScope).toBe('System');
    const [payload] = profile.PayloadContent;
    expect(payload?.PayloadType).toBe('com.apple.TCC.configuration-profile-policy');
    const [entry] = payload?.Services.SystemPolicyAllFiles ?? [];
    expect(entry).toMatchObject({ Identifier: MACOS_PKG_AGENT_ARGV[0], IdentifierType: 'path', Authorization: 'Allow', StaticCode: false });
    expect(entry?.CodeRequirement).toMatch(/^identifier "/);
    expect(entry).not.toHaveProperty('Allowed');
  });
});
