/**
 * The real ports doctor runs with: DNS through the OS resolver, the dgram IKE probe, restic found
 * as a session finds it, the running agent's /metrics over its socket, and the file system.
 */
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { locateRestic, ResticBinaryError } from '../../backup/restic-binary.js';
import { AgentClient } from '../../api/client.js';
import { socketTransport } from '../../api/node-transport.js';
import { defaultResourcesDir, JobError, prepareResticEngine, type RunContext } from '../run-job.js';
import { probeIke } from './ike-probe.js';
import type { DoctorPorts } from './types.js';

export interface DoctorPortsOptions {
  /** The agent's socket (/metrics is asked only when it exists). */
  readonly agentSocket: string;
  readonly credentialMaxAgeDays?: number | undefined;
  readonly signal: AbortSignal;
}

export function defaultDoctorPorts(run: RunContext, options: DoctorPortsOptions): DoctorPorts {
  const platform = run.platform ?? process.platform;
  return {
    config: run.config,
    paths: run.paths,
    runner: run.runner,
    redactor: run.redactor,
    secretStore: run.secretStore,
    platform,
    arch: process.arch,
    homedir: homedir(),
    now: () => new Date(),
    resolveHost: async (host) => (await lookup(host, { all: true })).map((a) => a.address),
    ikeProbe: probeIke,
    resticEngine: () => prepareResticEngine(run),
    resticBinary: async () => {
      const env = run.env ?? process.env;
      const resticPath = run.config.settings.resticPath;
      try {
        return await locateRestic({
          ...(resticPath === undefined ? {} : { configuredPath: resticPath }),
          resourcesDir: run.resourcesDir ?? defaultResourcesDir(),
          platform,
          arch: process.arch,
          pathEnv: env.PATH ?? '',
        }, run.runner);
      } catch (error) {
        if (error instanceof ResticBinaryError) throw new JobError('backup.engine-missing', error.problem, error.fix);
        throw error;
      }
    },
    agentMetrics: async () => {
      if (!existsSync(options.agentSocket)) return undefined;
      const client = new AgentClient(socketTransport(options.agentSocket));
      // A socket file left by a dead agent: not running.
      if (!(await client.status().then(() => true, () => false))) return undefined;
      return client.metrics();
    },
    readText: (path) => readFile(path, 'utf8'),
    canRead: async (path) => {
      try {
        if ((await stat(path)).isDirectory()) await readdir(path);
        else await (await open(path, 'r')).close();
        return { ok: true };
      } catch (error) {
        return { ok: false, code: (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN' };
      }
    },
    modifiedAt: async (path) => (await stat(path)).mtime,
    credentialMaxAgeDays: options.credentialMaxAgeDays,
    ...(run.hostProbe === undefined ? {} : { hostProbe: run.hostProbe }),
    ...(run.agentMode === undefined ? {} : { agentMode: run.agentMode }),
    signal: options.signal,
  };
}
