import { describe, expect, it } from 'vitest';
import { computeTunnelMtu, dfPingArgv, espOverhead, MIN_MTU, probePathMtu, tunnelOverhead } from '../../src/connect/mtu.js';
import { ReplayingCommandRunner, type Expectation } from '../helpers/replaying-runner.js';

describe('espOverhead', () => {
  it('knows CBC with HMAC and AEAD ciphers', () => {
    expect(espOverhead('aes256-sha256')).toEqual({ ivBytes: 16, blockBytes: 16, icvBytes: 16 });
    expect(espOverhead('aes128-sha1')).toEqual({ ivBytes: 16, blockBytes: 16, icvBytes: 12 });
    expect(espOverhead('aes256gcm16')).toEqual({ ivBytes: 8, blockBytes: 4, icvBytes: 16 });
    expect(espOverhead('aes128gcm8')).toEqual({ ivBytes: 8, blockBytes: 4, icvBytes: 8 });
    expect(espOverhead('3des-sha1')).toEqual({ ivBytes: 8, blockBytes: 8, icvBytes: 12 });
  });

  it('assumes the worst for what it does not know', () => {
    expect(espOverhead('')).toEqual({ ivBytes: 16, blockBytes: 16, icvBytes: 32 });
  });
});

describe('computeTunnelMtu', () => {
  it('L2TP/IPsec with AES-256-CBC/SHA-256 behind NAT: 1500 − IP 20 − UDP 8 − ESP 8+16+16 − padding − L2TP/PPP 20', () => {
    expect(computeTunnelMtu({ type: 'l2tp', espProposals: ['aes256-sha256'], natTraversal: true })).toBe(1402);
    expect(tunnelOverhead({ type: 'l2tp', espProposals: ['aes256-sha256'], natTraversal: true })).toBe(98);
  });

  it('without NAT-T the UDP header is not needed', () => {
    expect(computeTunnelMtu({ type: 'l2tp', espProposals: ['aes256-sha256'], natTraversal: false })).toBe(1418);
  });

  it('IKEv2 tunnel mode with AES-GCM behind NAT', () => {
    expect(computeTunnelMtu({ type: 'ikev2', espProposals: ['aes256gcm16'], natTraversal: true })).toBe(1438);
  });

  it('takes the worst of the proposals that may be negotiated, and never goes below 576', () => {
    expect(computeTunnelMtu({ type: 'ikev2', espProposals: ['aes256gcm16', 'aes256-sha512'], natTraversal: true })).toBe(
      computeTunnelMtu({ type: 'ikev2', espProposals: ['aes256-sha512'], natTraversal: true }),
    );
    expect(computeTunnelMtu({ type: 'l2tp', espProposals: ['aes256-sha256'], natTraversal: true, pathMtu: 600 })).toBe(MIN_MTU);
  });
});

function ping(size: number, passes: boolean): Expectation {
  return { argv: dfPingArgv('10.99.0.1', size), reply: passes ? { stdout: '1 packets transmitted, 1 received\n' } : { exitCode: 1, stdout: '1 packets transmitted, 0 received\n' } };
}

describe('probePathMtu', () => {
  const signal = new AbortController().signal;

  it('confirms with one ping when the applied MTU passes with DF set', async () => {
    const runner = new ReplayingCommandRunner([ping(1402, true)]);
    expect(await probePathMtu({ runner, target: '10.99.0.1', mtu: 1402, signal })).toEqual({ kind: 'confirmed', mtu: 1402 });
    expect(runner.calls[0]?.argv).toEqual(['ping', '-n', '-q', '-M', 'do', '-c', '1', '-W', '2', '-s', '1374', '10.99.0.1']);
    runner.assertDone();
  });

  it('finds the largest size that passes by bisection when the applied MTU does not', async () => {
    const limit = 1300;
    const sizes = [1402, 576];
    let low = 576;
    let high = 1401;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      sizes.push(middle);
      if (middle <= limit) low = middle;
      else high = middle - 1;
    }
    const runner = new ReplayingCommandRunner(sizes.map((size) => ping(size, size <= limit)));
    expect(await probePathMtu({ runner, target: '10.99.0.1', mtu: 1402, signal })).toEqual({ kind: 'smaller', mtu: 1300, tried: 1402 });
    expect(sizes.length).toBeLessThanOrEqual(13);
    runner.assertDone();
  });

  it('is inconclusive when the target does not answer even a small ping', async () => {
    const runner = new ReplayingCommandRunner([ping(1402, false), ping(576, false)]);
    expect(await probePathMtu({ runner, target: '10.99.0.1', mtu: 1402, signal })).toEqual({
      kind: 'inconclusive',
      reason: "10.99.0.1 did not answer a 576-byte ping with don't-fragment set",
    });
    runner.assertDone();
  });
});
