/**
 * Planning a job and its ports: the engine is chosen by jobs.NAME.engine (restic or rsync), rsync
 * is found through the CommandRunner (settings.rsyncPath, else PATH) and refused with the fix when
 * missing or too old, rsync jobs need no password while restic jobs still do, verifying probes an
 * rsync job's SSH server, an engine's own fix becomes the session's hint, and the snapshot chores
 * refuse rsync jobs with job.no-snapshots.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobError, checkReachable, planSession, sessionPorts, type RunContext } from '../../src/agent/run-job.js';
import { resticJob } from '../../src/agent/repository-chores.js';
import { backupFailure } from '../../src/agent/session/failures.js';
import { readHistory } from '../../src/agent/session/history.js';
import { runSession } from '../../src/agent/session/session.js';
import type { BackupEngine, BackupRequest } from '../../src/backup/engine.js';
import { parseConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createMemoryLogger } from '../../src/os/log.js';
import { defaultRedactor } from '../../src/os/redact.js';
import { ReplayingCommandRunner, type Expectation } from '../helpers/replaying-runner.js';
import { fixture } from '../backup/rsync-fixtures.js';

const CONFIG = `jobs:
  nightly:
    sources: [/home/me]
    repository: rest:http://10.99.0.1:8000/office
    password: file:/etc/backhaul/office.pw
  nas:
    engine: rsync
    sources: [/home/me/docs]
    repository: /volume1/backup/laptop
    streams: 3
    bandwidthLimit: 2 MiB/s
    excludes: ['*.tmp']
    ssh:
      host: nas.office.example
      port: 2222
      user: backup
      identity: file:/home/me/.ssh/backhaul_ed25519
      knownHosts: /home/me/.config/backhaul/known_hosts
`;

function config(extra = ''): Config {
  const result = parseConfigText(`${extra}${CONFIG}`, 'test.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

function context(cfg: Config, expectations: Expectation[] = []): { ctx: RunContext; runner: ReplayingCommandRunner } {
  const runner = new ReplayingCommandRunner(expectations);
  const paths = { configFile: '/nonexistent/config.yaml', stateDir: '/nonexistent/state', logDir: '/nonexistent/log', cacheDir: '/nonexistent/cache', runtimeDir: '/nonexistent/run' };
  return { ctx: { config: cfg, paths, runner, redactor: defaultRedactor, logger: createMemoryLogger(), platform: 'linux', env: { PATH: '/usr/bin' } }, runner };
}

const signal = new AbortController().signal;

describe('planSession', () => {
  it('plans an rsync job: its request, and its SSH server as the endpoint verifying probes', () => {
    const { ctx } = context(config());
    const plan = planSession(ctx, 'nas', 'cli');
    expect(plan.backup).toEqual({
      jobName: 'nas',
      repository: '/volume1/backup/laptop',
      sources: ['/home/me/docs'],
      excludes: ['*.tmp'],
      streams: 3,
      uploadLimitKiBps: 2048,
    });
    expect(plan.endpoint).toEqual({ kind: 'tcp', scheme: 'ssh', host: 'nas.office.example', port: 2222 });
  });

  it('plans a restic job as before: the repository URL is the endpoint', () => {
    const { ctx } = context(config());
    const plan = planSession(ctx, 'nightly', 'cli');
    expect(plan.backup.repository).toBe('rest:http://10.99.0.1:8000/office');
    expect(plan.endpoint).toEqual({ kind: 'tcp', scheme: 'rest', host: '10.99.0.1', port: 8000 });
  });
});

describe('sessionPorts', () => {
  it('an rsync job needs no password and gets the rsync engine from settings.rsyncPath', async () => {
    const { ctx, runner } = context(config('settings:\n  rsyncPath: /opt/rsync/bin/rsync\n'), [
      { argv: ['/opt/rsync/bin/rsync', '--version'], reply: fixture('version') },
    ]);
    const ports = sessionPorts(ctx, 'nas');
    await expect(ports.resolvePassword(signal)).resolves.toBe('');
    const engine = await ports.prepareEngine(signal);
    expect(engine.name).toBe('rsync');
    runner.assertDone();
  });

  it('finds rsync on PATH when no path is configured', async () => {
    const { ctx, runner } = context(config(), [{ argv: ['rsync', '--version'], reply: fixture('version') }]);
    expect((await sessionPorts(ctx, 'nas').prepareEngine(signal)).name).toBe('rsync');
    runner.assertDone();
  });

  it('a missing rsync is backup.engine-missing with the install command', async () => {
    const { ctx, runner } = context(config(), [{ argv: ['rsync', '--version'], reply: { spawnError: 'ENOENT' } }]);
    const error = await sessionPorts(ctx, 'nas').prepareEngine(signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobError);
    expect(error).toMatchObject({ code: 'backup.engine-missing', hint: 'Install rsync 3.1.0 or newer (`apt-get install rsync openssh-client`).' });
    runner.assertDone();
  });

  it('an old configured rsync is backup.engine-missing naming settings.rsyncPath', async () => {
    const old = { stdout: 'rsync  version 3.0.9  protocol version 30\n', source: 'rsync 3.0.9 (CentOS 6) version line' };
    const { ctx, runner } = context(config('settings:\n  rsyncPath: /usr/local/bin/rsync\n'), [{ argv: ['/usr/local/bin/rsync', '--version'], reply: old }]);
    const error = await sessionPorts(ctx, 'nas').prepareEngine(signal).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'backup.engine-missing', message: expect.stringContaining('3.0.9') as unknown, hint: expect.stringContaining('settings.rsyncPath') as unknown });
    runner.assertDone();
  });

  it('a restic job still needs its password', async () => {
    const cfg = config();
    const nightly = cfg.jobs['nightly'];
    if (nightly === undefined) throw new Error('no job');
    const { password: _pw, ...withoutPassword } = nightly;
    const { ctx } = context({ ...cfg, jobs: { ...cfg.jobs, nightly: withoutPassword } });
    await expect(sessionPorts(ctx, 'nightly').resolvePassword(signal)).rejects.toMatchObject({ code: 'config.missing-password' });
  });
});

describe('an rsync session', () => {
  it('runs without a password and ends as a warning whose record keeps the files and the fix', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'backhaul-run-job-'));
    const { ctx } = context(config());
    const seen: BackupRequest[] = [];
    const engine: BackupEngine = {
      name: 'rsync',
      // eslint-disable-next-line @typescript-eslint/require-await
      async *run(request) {
        seen.push(request);
        yield { type: 'file-error', path: '/home/me/docs/gone.txt', during: 'vanished', message: 'file has vanished' };
        return {
          outcome: 'warning',
          summary: { filesNew: 3, filesChanged: 0, filesUnmodified: 0, bytesAdded: 10, bytesProcessed: 10, filesProcessed: 3, durationSeconds: 1 },
          failure: {
            class: 'partial',
            detail: 'partial',
            message: '1 file was not copied: /home/me/docs/gone.txt. Some files vanished before they could be copied.',
            exitCode: 24,
            stderrTail: '',
            fix: 'Check the files listed (permissions, or files removed during the run); everything else was copied.',
            files: ['/home/me/docs/gone.txt'],
          },
        };
      },
    };
    const plan = planSession({ ...ctx, paths: { ...ctx.paths, stateDir } }, 'nas', 'cli');
    const probed: unknown[] = [];
    const ports = {
      ...sessionPorts({ ...ctx, paths: { ...ctx.paths, stateDir } }, 'nas', { engine: () => Promise.resolve(engine), sessionId: 'rsync-1' }),
      checkReachable: (endpoint: unknown) => { probed.push(endpoint); return Promise.resolve(); },
    };
    const record = await runSession(plan, ports, signal);
    expect(probed).toEqual([{ kind: 'tcp', scheme: 'ssh', host: 'nas.office.example', port: 2222 }]);
    expect(seen[0]?.password).toBe('');
    expect(record).toMatchObject({
      end: 'done',
      result: 'warning',
      failure: {
        code: 'backup.partial',
        hint: 'Check the files listed (permissions, or files removed during the run); everything else was copied.',
        files: ['/home/me/docs/gone.txt'],
      },
    });
    expect(await readHistory(stateDir)).toEqual([record]);
  });
});

describe('checkReachable', () => {
  it('connects to an SSH endpoint, and names the SSH server when nothing answers', async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await expect(checkReachable({ kind: 'tcp', scheme: 'ssh', host: '127.0.0.1', port }, signal)).resolves.toBeUndefined();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    await expect(checkReachable({ kind: 'tcp', scheme: 'ssh', host: '127.0.0.1', port }, signal)).rejects.toMatchObject({
      code: 'verify.unreachable',
      message: `the SSH server 127.0.0.1:${port} can't be reached (ECONNREFUSED)`,
    });
  });
});

describe('backupFailure', () => {
  it("prefers the engine's fix, with the job's name put in, and keeps the files", () => {
    const failure = backupFailure('nas', {
      class: 'unknown',
      detail: 'ssh-host-key-unknown',
      message: 'The SSH host key of nas:22 is not in /kh.',
      exitCode: 12,
      stderrTail: '',
      fix: 'Add the key: ssh-keyscan -p 22 nas >> /kh (or set jobs.<name>.ssh.knownHosts to a file that has it).',
    });
    expect(failure).toEqual({
      code: 'backup.unknown',
      message: 'The SSH host key of nas:22 is not in /kh.',
      hint: 'Add the key: ssh-keyscan -p 22 nas >> /kh (or set jobs.nas.ssh.knownHosts to a file that has it).',
    });
    const partial = backupFailure('nas', { class: 'partial', message: '1 file was not copied', exitCode: 24, stderrTail: '', files: ['/home/me/x'] });
    expect(partial.files).toEqual(['/home/me/x']);
    expect(partial.hint).toContain('jobs.nas.excludes');
  });
});

describe('resticJob', () => {
  it('refuses an rsync job with job.no-snapshots and where its copy is', () => {
    let error: unknown;
    try {
      resticJob(config(), 'nas');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(JobError);
    expect(error).toMatchObject({
      code: 'job.no-snapshots',
      message: '"nas" is an rsync job: it keeps no snapshots, only a plain copy at backup@nas.office.example:/volume1/backup/laptop',
      hint: expect.stringContaining('ssh -p 2222 backup@nas.office.example ls /volume1/backup/laptop') as unknown,
    });
    expect(resticJob(config(), 'nightly').engine).toBe('restic');
  });
});
