import { describe, expect, it } from 'vitest';
import { diagnose, diagnosisError, diagnosisTable, nmcliReason, pppdExitFrom, type Evidence } from '../../src/connect/diagnosis.js';
import { loadRecording } from '../helpers/recorded.js';

/** The journal lines of a recorded case, as `journalctl -o cat` would print them (message only). */
function journal(file: string): string[] {
  return loadRecording(`recorded/linux/${file}`).stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.replace(/^\w{3} \d+ [\d:.]+ \S+ [^:]+: /, ''));
}

function nmEvidence(up: string, journalFile: string): Evidence {
  const recording = loadRecording(`recorded/linux/${up}`);
  const reason = nmcliReason(recording.stderr);
  return { nmcliExit: recording.exitCode ?? 0, ...(reason === undefined ? {} : { nmReason: reason }), logLines: journal(journalFile) };
}

describe('diagnose: recorded NetworkManager failures (nmcli prints the same text, the journal decides)', () => {
  it('wrong PSK: charon could not decrypt phase 1', () => {
    const evidence = nmEvidence('nmcli_-w_60_connection_up_cloud-l2tp.wrong-psk.txt', 'journalctl_NetworkManager_charon_pppd.wrong-psk.txt');
    expect(evidence.nmReason).toBe('The VPN service failed to start');
    expect(diagnose(evidence)).toMatchObject({ code: 'tunnel.wrong-psk', evidence: '15[ENC] invalid HASH_V1 payload length, decryption failed?' });
  });

  it('unreachable gateway: same nmcli text, only retransmits in the journal', () => {
    const evidence = nmEvidence('nmcli_-w_60_connection_up_cloud-l2tp.unreachable-gateway.txt', 'journalctl_NetworkManager_charon_pppd.unreachable-gateway.txt');
    expect(evidence.nmReason).toBe('The VPN service failed to start');
    expect(diagnose(evidence).code).toBe('tunnel.gateway-unreachable');
  });

  it('wrong password: pppd says CHAP failed', () => {
    const evidence = nmEvidence('nmcli_-w_60_connection_up_cloud-l2tp.wrong-password.txt', 'journalctl_NetworkManager_charon_pppd.wrong-password.txt');
    expect(diagnose(evidence)).toMatchObject({ code: 'tunnel.wrong-password', evidence: 'CHAP authentication failed: Access denied' });
  });

  it('IKEv2: the gateway rejected our certificate vs. we did not trust the gateway', () => {
    expect(diagnose(nmEvidence('nm-ikev2-up.client-cert-unknown-ca.txt', 'nm-ikev2-journal.client-cert-unknown-ca.txt')).code).toBe('tunnel.auth-rejected');
    expect(diagnose(nmEvidence('nm-ikev2-up.server-cert-untrusted.txt', 'nm-ikev2-journal.server-cert-untrusted.txt')).code).toBe('tunnel.gateway-untrusted');
    expect(diagnose(nmEvidence('nm-ikev2-up.ca-file-missing.txt', 'nm-ikev2-journal.ca-file-missing.txt')).code).toBe('tunnel.certificate-file');
  });

  it('no valid secrets: the passwd-file was not used (no auth dialog)', () => {
    const recording = loadRecording('recorded/linux/nm-secrets-up.fd.no-auth-dialog.txt');
    const reason = nmcliReason(recording.stderr);
    expect(diagnose({ nmcliExit: 4, ...(reason === undefined ? {} : { nmReason: reason }), logLines: [] }).code).toBe('tunnel.secrets-not-accepted');
  });

  it('a missing connection is nmcli exit 10', () => {
    expect(diagnose({ nmcliExit: 10, logLines: [] }).code).toBe('tunnel.profile-missing');
  });
});

describe('diagnose: recorded strongSwan output of the direct path', () => {
  it('ipsec up with a wrong PSK (exit 0 after 166 s!) is still a wrong PSK', () => {
    const lines = loadRecording('recorded/linux/ipsec_up_lab-direct.direct-wrong-psk.txt').stdout.split('\n');
    expect(diagnose({ logLines: lines }).code).toBe('tunnel.wrong-psk');
  });

  it('dead-peer detection giving up on an established tunnel is a peer timeout', () => {
    const lines = [
      'CHILD_SA net{2} established with SPIs 69981059_i c3cdb91f_o and TS 10.98.0.0/24 === 10.99.0.0/24',
      ...loadRecording('recorded/strongswan/charon-office-dpd-log.txt').stdout.split('\n'),
      '08:47:43 05[IKE] giving up after 3 retransmits',
    ];
    expect(diagnose({ logLines: lines }).code).toBe('tunnel.peer-timeout');
  });
});

describe('diagnose: NAT-T blocked, proposals, pppd exits', () => {
  it('UDP 4500 blocked behind NAT: phase 1 on 500 answered, then only retransmits from 4500', () => {
    const lines = [
      'sending packet: from 10.77.1.2[500] to 203.0.113.2[500] (532 bytes)',
      'received packet: from 203.0.113.2[500] to 10.77.1.2[500] (160 bytes)',
      'local host is behind NAT, sending keep alives',
      'sending packet: from 10.77.1.2[4500] to 203.0.113.2[4500] (92 bytes)',
      'sending retransmit 1 of request message ID 0, seq 3',
      'giving up after 3 retransmits',
    ];
    expect(diagnose({ logLines: lines }).code).toBe('tunnel.natt-blocked');
  });

  it('NO_PROPOSAL_CHOSEN is a proposal mismatch', () => {
    expect(diagnose({ logLines: ['received NO_PROPOSAL_CHOSEN error notify'] }).code).toBe('tunnel.proposal-mismatch');
  });

  it('reads pppd exit codes from xl2tpd and maps them', () => {
    const lines = ['xl2tpd[801]: child_handler : pppd exited for call 12345 with code 19'];
    expect(pppdExitFrom(lines)).toBe(19);
    expect(diagnose({ pppdExit: 19, logLines: [] }).code).toBe('tunnel.wrong-password');
    expect(diagnose({ pppdExit: 15, logLines: [] }).code).toBe('tunnel.peer-timeout');
  });

  it('falls back to a generic diagnosis', () => {
    expect(diagnose({ logLines: ['something else'] }).code).toBe('tunnel.connect-failed');
  });
});

describe('diagnosisError and the table', () => {
  it('words the user-facing error: what happened, the likely cause, and what to do as the hint', () => {
    const error = diagnosisError('office', diagnose({ logLines: ['invalid HASH_V1 payload length, decryption failed?'] }));
    expect(error.code).toBe('tunnel.wrong-psk');
    expect(error.message).toBe("profile office: the gateway rejected the IPsec pre-shared key (likely cause: the pre-shared key does not match the gateway's, IKE phase 1 could not be decrypted)");
    expect(error.hint).toBe("Check that the profile's auth.psk file holds exactly the gateway's pre-shared key (no extra spaces).");
  });

  it('every rule says what happened, why and what to do, with a tunnel.* code', () => {
    for (const rule of diagnosisTable) {
      expect(rule.code).toMatch(/^tunnel\.[a-z0-9-]+$/);
      expect(rule.what).not.toBe('');
      expect(rule.cause).not.toMatch(/[()]/);
      expect(rule.action).not.toBe('');
    }
  });
});
