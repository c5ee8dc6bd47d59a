/**
 * Around a run, end to end through the CLI (`backhaul run JOB --foreground`), with real restic
 * behind a real `rclone serve restic` on 127.0.0.1 standing for the office server, real hook
 * processes and a real HTTP server for the webhook and the healthchecks pings. The job names a VPN
 * profile with `tunnel: whenNeeded`: the repository answers, so the run goes direct and says why.
 * Keep-awake uses the real systemd-inhibit, which on a host without logind only warns.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHistory } from '../../src/agent/session/history.js';
import { main } from '../../src/cli/main.js';
import { logFileFor } from '../../src/os/log.js';
import { captureIo } from '../helpers/cli-io.js';
import { haveProgram, labRestics, startRclone, type RcloneServer } from '../helpers/restic-lab.js';

const restic = labRestics().find((r) => r.skipReason === undefined);
const skip = restic === undefined ? 'no restic' : haveProgram('rclone') ? undefined : 'rclone is not installed';

let home: string;
let rclone: RcloneServer | undefined;
let http: Server | undefined;
const received: { path: string; body: string }[] = [];

beforeAll(async () => {
  if (skip !== undefined || restic === undefined) return;
  home = await mkdtemp(join(tmpdir(), 'backhaul-around-e2e-'));
  rclone = await startRclone(join(home, 'served'));
  http = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => http?.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  await mkdir(join(home, 'data'), { recursive: true });
  await writeFile(join(home, 'data', 'a.txt'), 'hello\n');
  await writeFile(join(home, 'repo.pw'), 'around-run-repository-pw\n', { mode: 0o600 });
  await writeFile(join(home, 'office.psk'), 'around-run-psk\n', { mode: 0o600 });
  await writeFile(
    join(home, 'config.yaml'),
    [
      'settings:',
      `  resticPath: ${restic.path}`,
      'jobs:',
      '  nightly:',
      `    sources: [${join(home, 'data')}]`,
      `    repository: ${rclone.repo('office')}`,
      `    password: file:${join(home, 'repo.pw')}`,
      '    profile: office',
      '    tunnel: whenNeeded',
      '    hooks:',
      `      pre: [[sh, -c, 'echo "pre $BACKHAUL_JOB" >> "$0"', ${join(home, 'hooks.log')}]]`,
      `      post: [[sh, -c, 'echo "post $BACKHAUL_RESULT" >> "$0"', ${join(home, 'hooks.log')}]]`,
      '    notify:',
      `      webhook: http://127.0.0.1:${port}/hook`,
      `      healthchecks: http://127.0.0.1:${port}/ping/abc`,
      'profiles:',
      '  office:',
      '    type: l2tp',
      '    gateways: [vpn.example.invalid]',
      '    routes: [10.99.0.0/24]',
      `    auth: { method: psk, psk: "file:${join(home, 'office.psk')}" }`,
      '',
    ].join('\n'),
  );
  expect(await main(['--home', home, 'init', 'nightly'], captureIo().io)).toBe(0);
}, 120_000);

afterAll(async () => {
  await rclone?.stop();
  http?.close();
});

describe('a whenNeeded job on the office LAN, with hooks and notifications', () => {
  it.skipIf(skip !== undefined)('goes direct (and says why), runs its hooks, pings start and success, and warns that it could not keep the machine awake', async () => {
    const run = captureIo();
    expect(await main(['--home', home, 'run', 'nightly', '--foreground'], run.io)).toBe(0);
    const [record] = await readHistory(join(home, 'state'));
    expect(record).toMatchObject({ job: 'nightly', end: 'done', result: 'success', path: { via: 'direct', reason: `127.0.0.1:${rclone?.port ?? 0} answered without the tunnel` } });
    expect(record?.gateway).toBeUndefined();
    expect(await readFile(join(home, 'hooks.log'), 'utf8')).toBe('pre nightly\npost success\n');
    expect(received.map((r) => r.path).sort()).toEqual(['/hook', '/hook', '/ping/abc', '/ping/abc/start']);
    const ends = received.filter((r) => r.path === '/hook').map((r) => JSON.parse(r.body) as { event: string });
    expect(ends.map((e) => e.event)).toEqual(['start', 'success']);
    const log = await readFile(logFileFor(join(home, 'logs')), 'utf8');
    expect(log).toContain('going direct: 127.0.0.1');
    // Without a system bus (this host, CI) logind can't take the lock: a warning, never a failure.
    if (!existsSync('/run/dbus/system_bus_socket')) expect(log).toMatch(/could not keep the machine awake: systemd-inhibit/);
    expect(log).toContain(`notified webhook http://127.0.0.1:`);
    expect(log).not.toContain('/ping/abc');
  }, 120_000);
});
