/**
 * Doctor's ports for unit tests: a validated config, an injected clock, and fakes for every side
 * effect, each overridable. Anything a test does not set throws, so a check that reaches for a
 * port it should not use fails the test.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DoctorPorts } from '../../../src/agent/doctor/types.js';
import { validateConfigData, type Config } from '../../../src/config/schema.js';
import { SecretRedactor } from '../../../src/os/redact.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { ReplayingCommandRunner } from '../../helpers/replaying-runner.js';

export function config(data: unknown): Config {
  const result = validateConfigData(data);
  if (!result.success) throw new Error(JSON.stringify(result.issues));
  return result.data;
}

export const labProfile = {
  type: 'ikev2', gateways: ['198.51.100.2'], routes: ['10.99.0.0/24'],
  auth: { method: 'certificate', certificate: '/pki/client.pem', key: 'file:/pki/client.key' },
  ikeProposals: ['aes256gcm16-prfsha256-ecp256'], espProposals: ['aes256gcm16-ecp256'],
};

export const labJob = { sources: ['/data'], repository: 'rest:http://10.99.0.1:8000/repo', password: 'file:/pki/repo.pw', profile: 'lab' };

const unexpected = (what: string) => (): never => { throw new Error(`unexpected use of ${what}`); };

export function fakePorts(cfg: Config, overrides: Partial<DoctorPorts> = {}): DoctorPorts {
  const dir = mkdtempSync(join(tmpdir(), 'bh-doctor-'));
  const clock = new FakeClock();
  return {
    config: cfg,
    paths: { configFile: join(dir, 'config.yaml'), stateDir: join(dir, 'state'), logDir: join(dir, 'logs'), cacheDir: join(dir, 'cache'), runtimeDir: join(dir, 'run') },
    runner: new ReplayingCommandRunner([]),
    redactor: new SecretRedactor(),
    platform: 'linux',
    arch: 'x64',
    homedir: dir,
    now: clock.date,
    resolveHost: unexpected('resolveHost'),
    ikeProbe: unexpected('ikeProbe'),
    resticEngine: unexpected('resticEngine'),
    resticBinary: unexpected('resticBinary'),
    agentMetrics: () => Promise.resolve(undefined),
    readText: unexpected('readText'),
    canRead: unexpected('canRead'),
    modifiedAt: unexpected('modifiedAt'),
    signal: new AbortController().signal,
    ...overrides,
  };
}
