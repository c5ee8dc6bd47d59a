/**
 * The benchmark's WAN model works (bench/lib/wan-model.ts): the delay line delays (ping's fastest
 * round trip can't beat 2·D), the loss rules drop about the share asked for and count it, tbf is
 * in place, and the unshaped path bypasses all of it. Seconds, not minutes; needs root. The only
 * time asserted is a lower bound the delay line guarantees by construction; the loss band is
 * wide enough to fail with probability below 10⁻⁸.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWanModel, wanModelSkipReason, type WanModel } from '../../bench/lib/wan-model.js';

const skip = await wanModelSkipReason();

describe.skipIf(skip !== undefined)(skip === undefined ? 'WAN model' : `WAN model (skipped: ${skip})`, () => {
  let model: WanModel;
  beforeAll(async () => {
    model = await createWanModel();
  });
  afterAll(async () => {
    await model.destroy();
  });

  it('delays every packet by D each way and drops the asked share, counted per direction', async () => {
    const delayMs = 10;
    await model.shape({ name: 'test', delayMs, rateMbit: 100, lossPerMille: 50 });
    const ping = await model.ping(600, 0.005);
    expect(ping.received).toBeGreaterThan(0);
    expect(ping.minMs).toBeGreaterThanOrEqual(2 * delayMs);

    const loss = await model.lossCounters();
    expect(loss.aToB.packets).toBe(600);
    expect(loss.aToB.dropped / loss.aToB.packets).toBeGreaterThan(0.01);
    expect(loss.aToB.dropped / loss.aToB.packets).toBeLessThan(0.12);
    // Replies exist only for requests that got through; the return path drops its share too.
    expect(loss.bToA.packets).toBe(loss.aToB.packets - loss.aToB.dropped);
    expect(ping.received).toBe(loss.bToA.packets - loss.bToA.dropped);

    const qdisc = execFileSync('tc', ['-n', model.r, 'qdisc', 'show', 'dev', 'rb'], { encoding: 'utf8' });
    expect(qdisc).toMatch(/tbf .*rate 100Mbit/);
  });

  it('the unshaped path forwards in the kernel: no relay, no loss rules, no tbf', async () => {
    await model.shape({ name: 'unshaped', delayMs: 0 });
    const ping = await model.ping(20, 0.01);
    expect(ping.received).toBe(20);
    expect(await model.lossCounters()).toMatchObject({ aToB: { packets: 0, dropped: 0 }, bToA: { packets: 0, dropped: 0 } });
    expect(execFileSync('tc', ['-n', model.r, 'qdisc', 'show', 'dev', 'rb'], { encoding: 'utf8' })).not.toContain('tbf');
  });

  it('sets a namespace\'s congestion control and reads it back', async () => {
    expect(await model.setCongestionControl(model.a, 'cubic')).toBe('cubic');
    expect(await model.setCongestionControl(model.a, 'bbr')).toBe('bbr');
  });
});
