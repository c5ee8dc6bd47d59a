/**
 * The agent with `keychain:` secrets on a Linux box without a Secret Service (no session bus in this
 * process): it falls back to the file store, says so once in the log and as the
 * `secrets.file-store` health item, and a missing secret fails the run naming the reference and
 * the fix. With a Secret Service the same runs are in test/integration/keychain-restic.test.ts.
 */
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { AgentClient } from '../../src/api/client.js';
import { socketTransport } from '../../src/api/node-transport.js';
import { resolvePaths } from '../../src/os/paths.js';

// No session bus: the probe must fail here even when the test runner itself has one.
delete process.env.DBUS_SESSION_BUS_ADDRESS;

describe.runIf(process.platform === 'linux')('an agent without a Secret Service', () => {
  let agent: Agent | undefined;
  afterEach(async () => { await agent?.stop(); });

  it('uses the file store with one warning and a health item; a missing secret fails the run clearly', async () => {
    const home = await mkdtemp(join(tmpdir(), 'backhaul-agent-secrets-'));
    await mkdir(join(home, 'data'));
    await writeFile(join(home, 'config.yaml'), `jobs:\n  nightly: { sources: [${join(home, 'data')}], repository: ${join(home, 'repo')}, password: "keychain:repo-pw" }\n`);
    const paths = resolvePaths({ platform: process.platform, env: { BACKHAUL_HOME: home }, homedir: home, mode: 'user' });
    agent = await Agent.start({ paths, mode: 'user', version: 'test' });
    const client = new AgentClient(socketTransport(agent.socket));
    expect((await client.health()).map((item) => item.code)).not.toContain('secrets.file-store');

    const runToEnd = async (count: number) => {
      await client.startRun('nightly');
      // Bounded wait for the record: 600 × 50 ms.
      for (let i = 0; i < 600 && (await client.history()).records.length < count; i++) await new Promise((r) => setTimeout(r, 50));
      return (await client.history()).records[0];
    };
    expect(await runToEnd(1)).toMatchObject({
      job: 'nightly',
      end: 'failed',
      failure: { code: 'secret.not-found', message: `keychain:repo-pw not found in ${join(home, 'state', 'secrets')}`, hint: 'store it with: backhaul secret set repo-pw' },
    });
    await runToEnd(2);

    const health = (await client.health()).find((item) => item.code === 'secrets.file-store');
    expect(health).toMatchObject({ severity: 'warning', badge: false, title: 'Secrets are kept in files, not in an OS keychain' });
    expect(health?.text).toContain(`keychain: secrets are kept in files in ${join(home, 'state', 'secrets')} (mode 0600`);
    await agent.stop();
    agent = undefined;
    const logs = await Promise.all((await readdir(paths.logDir)).map((file) => readFile(join(paths.logDir, file), 'utf8')));
    const warnings = logs.join('\n').split('\n').filter((line) => line.includes('keychain: secrets are kept in files'));
    expect(warnings).toHaveLength(1);
  });
});
