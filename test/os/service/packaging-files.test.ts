/**
 * The service definitions are checked by the tools that will read them: the systemd unit by
 * `systemd-analyze verify` (systemd 252 here; verify loads a unit file without systemd as PID 1, but
 * insists that ExecStart's program exists, so the test points it at a stub in a temp root), the
 * plists by the independent `plist` parser. The committed copies under packaging/ must match what
 * src/os/service renders (regenerate with: npx tsx scripts/gen-service-files.ts).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parsePlist } from 'plist';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderXdgAutostart } from '../../../src/os/service/autostart.js';
import { renderLaunchDaemon, renderTrayLaunchAgent } from '../../../src/os/service/launchd-plist.js';
import { packagingFiles } from '../../../src/os/service/packaging-files.js';
import { renderSystemdUnit, systemdWord, UNIT_CAPABILITIES } from '../../../src/os/service/systemd-unit.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');
let tmp: string;
let stub: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'backhaul-unit-'));
  // A directory with a space: ExecStart quoting is part of what verify checks.
  await mkdir(join(tmp, 'usr bin'));
  stub = join(tmp, 'usr bin', 'backhaul');
  await writeFile(stub, '#!/bin/sh\nexit 0\n');
  await chmod(stub, 0o755);
});
afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

/** systemd-analyze verify with the parsed unit dumped (debug level), so the test sees what systemd understood. */
async function verify(unitText: string): Promise<{ code: number; stderr: string; dump: string }> {
  const file = join(tmp, 'backhaul.service');
  await writeFile(file, unitText);
  const plain = await run('systemd-analyze', ['verify', file]).then(
    (r) => ({ code: 0, stderr: r.stderr }),
    (e: unknown) => ({ code: (e as { code?: number }).code ?? 1, stderr: (e as { stderr?: string }).stderr ?? '' }),
  );
  const debug = await run('systemd-analyze', ['verify', file], { env: { ...process.env, SYSTEMD_LOG_LEVEL: 'debug' }, maxBuffer: 32 * 1024 * 1024 }).then((r) => r.stderr + r.stdout, (e: unknown) => (e as { stderr?: string }).stderr ?? '');
  return { ...plain, dump: debug };
}

describe('the systemd unit', () => {
  it('passes systemd-analyze verify without a single warning', async () => {
    const result = await verify(renderSystemdUnit({ execStart: [stub, '--system', 'agent'] }));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('is understood as written: hardening, writable paths, every capability, the quoted ExecStart', async () => {
    const { dump } = await verify(renderSystemdUnit({ execStart: [stub, '--system', 'agent'] }));
    expect(dump).toMatch(/ProtectSystem: strict/);
    expect(dump).toMatch(/ProtectHome: read-only/);
    expect(dump).toMatch(/UMask: 0077/);
    expect(dump).toMatch(/PrivateTmp: yes/);
    expect(dump).toMatch(/ReadWritePaths: \/etc\/backhaul \/run/);
    const caps = /CapabilityBoundingSet: (.*)/.exec(dump)?.[1]?.split(' ').sort();
    // A misspelt capability is dropped silently by systemd: comparing the parsed set catches it.
    expect(caps).toEqual(UNIT_CAPABILITIES.map((c) => c.toLowerCase()).sort());
    expect(dump).toContain(`Command Line: "${stub}" --system agent`);
  });

  it('the desktop variant (the agent in Electron, Node mode) verifies too, with its environment', async () => {
    const text = packagingFiles()['packaging/linux/desktop/backhaul.service'] ?? '';
    const { stderr, code, dump } = await verify(text.replace('ExecStart=/opt/Backhaul/backhaul-tray ', `ExecStart="${stub}" `));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(dump).toMatch(/Environment: ELECTRON_RUN_AS_NODE=1/);
    expect(() => renderSystemdUnit({ execStart: [stub], environment: { A: 'two words' } })).toThrow(/quoting/);
  });

  it('catches a broken unit (the check is real)', async () => {
    const broken = await verify(renderSystemdUnit({ execStart: [stub, '--system', 'agent'] }).replace('ProtectSystem=', 'ProtectSystm='));
    expect(broken.stderr).toMatch(/Unknown key 'ProtectSystm'/);
    const missing = await verify(renderSystemdUnit({ execStart: [join(tmp, 'nowhere', 'backhaul'), 'agent'] }));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/is not executable/);
  });

  it('quotes ExecStart words so systemd reads back the same argv (% and quotes included)', async () => {
    const { dump } = await verify(renderSystemdUnit({ execStart: [stub, '50%', 'a "b"', 'back\\slash'] }));
    expect(dump).toContain(`Command Line: "${stub}" 50% "a \\"b\\"" "back\\\\slash"`);
    expect(systemdWord('$HOME')).toBe('$$HOME'); // systemd turns $$ into $ when it runs the command
    expect(() => systemdWord('two\nlines')).toThrow(/systemd command line/);
    expect(() => renderSystemdUnit({ execStart: ['backhaul', 'agent'] })).toThrow(/absolute/);
  });
});

describe('the launchd plists', () => {
  it('parse, with the keys launchd needs', () => {
    const daemon = parsePlist(renderLaunchDaemon(['/usr/local/bin/backhaul', '--system', 'agent'], { ELECTRON_RUN_AS_NODE: '1' })) as Record<string, unknown>;
    expect(daemon).toEqual({
      Label: 'com.backhaul.agent',
      ProgramArguments: ['/usr/local/bin/backhaul', '--system', 'agent'],
      EnvironmentVariables: { ELECTRON_RUN_AS_NODE: '1' },
      RunAtLoad: true,
      KeepAlive: true,
      ExitTimeOut: 120,
      ProcessType: 'Standard',
      StandardOutPath: '/Library/Logs/Backhaul/agent.out.log',
      StandardErrorPath: '/Library/Logs/Backhaul/agent.err.log',
    });
    const tray = parsePlist(renderTrayLaunchAgent()) as Record<string, unknown>;
    expect(tray).toMatchObject({ Label: 'com.backhaul.tray', RunAtLoad: true, LimitLoadToSessionType: 'Aqua' });
  });

  it('escape what XML needs and refuse what a plist cannot hold', () => {
    const parsed = parsePlist(renderLaunchDaemon(['/Applications/A & B <x>.app/run'])) as { ProgramArguments: string[] };
    expect(parsed.ProgramArguments).toEqual(['/Applications/A & B <x>.app/run']);
    expect(() => renderLaunchDaemon(['/bin/x\u0001'])).toThrow(/control character/);
  });
});

describe('the files the installers ship', () => {
  it('are up to date (regenerate with: npx tsx scripts/gen-service-files.ts)', async () => {
    for (const [path, text] of Object.entries(packagingFiles())) {
      expect(await readFile(join(root, path), 'utf8'), path).toBe(text);
    }
  });

  it('the packaged unit runs the packaged CLI in system mode', () => {
    expect(packagingFiles()['packaging/linux/backhaul.service']).toContain('\nExecStart=/usr/bin/backhaul --system agent\n');
    expect(renderXdgAutostart()).toContain('\nExec=/opt/Backhaul/backhaul-tray --hidden\n');
    expect(() => renderXdgAutostart('/opt/My App/tray')).toThrow(/quoting/);
  });
});
