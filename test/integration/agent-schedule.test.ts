/**
 * The scheduler with the real clock, in a real agent process: a job scheduled two seconds ahead
 * starts by itself. Only "it started, as a scheduled run" is asserted (bounded wait), never when.
 */
import { appendFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { SessionRecord } from '../../src/api/types.js';
import { main } from '../../src/cli/main.js';
import { startAgent, stopAgent, writeJobConfig, type AgentUnderTest } from '../helpers/agent-process.js';
import { captureIo } from '../helpers/cli-io.js';

const started: AgentUnderTest[] = [];
afterEach(async () => {
  for (const agent of started.splice(0)) {
    await stopAgent(agent);
  }
});

it('a job scheduled 2 s ahead starts by itself, with trigger "schedule"', async () => {
  const home = await mkdtemp(join(tmpdir(), 'backhaul-schedule-'));
  const data = join(home, 'data');
  await mkdir(data);
  await writeFile(join(data, 'file.txt'), 'scheduled\n');
  await writeJobConfig(home, { name: 'nightly', data, repository: join(home, 'repo'), password: 'schedule-pw-1234' });
  const init = captureIo();
  expect(await main(['--home', home, 'init', 'nightly'], init.io)).toBe(0);

  const slot = new Date(Date.now() + 2000);
  const at = slot.toISOString().slice(11, 19); // HH:MM:SS in UTC
  await appendFile(join(home, 'config.yaml'), `    schedule: { at: "daily at ${at}", timezone: UTC }\n`);
  // The agent takes a second or two to start under tsx. A job the scheduler sees for the first
  // time only runs slots after that moment, so record now that it knew the job before the slot:
  // the same line the scheduler writes when it first sees a job.
  const now = new Date().toISOString();
  await mkdir(join(home, 'state', 'schedule'), { recursive: true });
  await writeFile(join(home, 'state', 'schedule', 'slots.jsonl'), `${JSON.stringify({ job: 'nightly', slot: now, state: 'tracking', at: now })}\n`);

  const agent = await startAgent(home);
  started.push(agent);
  let scheduled: SessionRecord | undefined;
  let live = false;
  // Bounded: 600 × 100 ms. The slot is 2 s ahead; a backup of one file takes a few seconds.
  for (let i = 0; i < 600 && scheduled === undefined && !live; i++) {
    const [status, history] = await Promise.all([agent.client.status(), agent.client.history({ job: 'nightly' })]);
    live = status.sessions.some((s) => s.job === 'nightly' && s.trigger === 'schedule');
    scheduled = history.records.find((r) => r.trigger === 'schedule');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(live || scheduled !== undefined, agent.output()).toBe(true);

  // The next run is tomorrow's slot: in GET /v1/jobs, and in `backhaul schedule`.
  const [job] = await agent.client.jobs();
  expect(job?.nextRunAt).toMatch(new RegExp(`T${at}\\.000Z$`));
  const listing = captureIo();
  expect(await main(['--home', home, 'schedule', '--json'], listing.io)).toBe(0);
  expect(JSON.parse(listing.out.text())).toMatchObject({ jobs: [{ job: 'nightly', at: `daily at ${at}`, timezone: 'UTC', upcoming: [{ startsAt: job?.nextRunAt }, {}, {}] }] });
  const human = captureIo();
  expect(await main(['--home', home, 'schedule'], human.io)).toBe(0);
  expect(human.out.text()).toContain(`nightly  daily at ${at}  (UTC)\n  next  `);

  const status = captureIo();
  expect(await main(['--home', home, 'status'], status.io)).toBe(0);
  expect(status.out.text()).toContain(`  job nightly  (restic, profile direct)  next run ${job?.nextRunAt ?? ''}`);

  // Pausing from the CLI shows in the status (the tray's "Pause schedules"), resuming clears it.
  expect(await main(['--home', home, 'schedule', '--pause', '2h'], captureIo().io)).toBe(0);
  expect((await agent.client.status()).schedulesPausedUntil).toBeDefined();
  expect(await main(['--home', home, 'schedule', '--resume'], captureIo().io)).toBe(0);
  expect((await agent.client.status()).schedulesPausedUntil).toBeUndefined();
});
