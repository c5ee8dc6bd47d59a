/**
 * What every fault-lab test sets up in the host lab (test/helpers/swan-host-lab.ts): a data set,
 * a repository, a Backhaul home whose job backs up through the lab's IKEv2 tunnel with tiny
 * keepalive values, and an nftables counter of clear packets to the repository subnet leaving the
 * client's WAN interface.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentEvent, SessionRecord } from '../../src/api/types.js';
import type { AgentUnderTest } from '../helpers/agent-process.js';
import { JOB, prepareLabHome, PROFILE } from '../helpers/lab-job.js';
import { LAB_ESP, LAB_GATEWAY, LAB_IKE, LAB_REPO_SUBNET, sh, type SwanHostLab } from '../helpers/swan-host-lab.js';

export { JOB, PROFILE };

export interface FaultJob {
  readonly home: string;
  /** The backed-up folder and its size in bytes. */
  readonly data: string;
  readonly dataBytes: number;
  /** restic jobs: the repository password's file. */
  readonly passwordFile?: string;
  /** The repository's directory on the server side (restic can open it locally); rsync: the destination. */
  readonly repoDir: string;
}

export interface FaultJobOptions {
  /** Which restic the agent runs (default: the one on PATH). */
  readonly resticPath?: string;
  /** Back up this folder instead of a fresh 16 MiB one (a soak reuses one data set). */
  readonly data?: { readonly dir: string; readonly bytes: number };
}

/** Four files of 4 MiB of random data (incompressible, so restic uploads all of it). */
export function writeFaultData(dir: string): { readonly dir: string; readonly bytes: number } {
  mkdirSync(dir);
  for (let i = 0; i < 4; i++) writeFileSync(join(dir, `part-${i}.bin`), randomBytes(4 * 1024 * 1024));
  return { dir, bytes: 16 * 1024 * 1024 };
}

/** 16 MiB of random data at 1 MiB/s: restic uploads for about 16 s. */
export async function prepareFaultJob(lab: SwanHostLab, repo: string, profileExtra: Record<string, unknown> = {}, options: FaultJobOptions = {}): Promise<FaultJob> {
  const data = options.data ?? writeFaultData(join(lab.dir, `data-${repo}`));
  // Tiny values so a drop is noticed within seconds; the deadline bounds a broken run.
  const { home, passwordFile } = await prepareLabHome(lab, repo, data.dir, {
    bandwidthLimit: '1 MiB/s',
    ...(options.resticPath === undefined ? {} : { resticPath: options.resticPath }),
    profileExtra: { keepaliveSeconds: 5, stallIntervals: 2, reconnectDeadlineSeconds: 90, ...profileExtra },
  });
  return { home, data: data.dir, dataBytes: data.bytes, passwordFile, repoDir: join(lab.dir, 'repos', repo) };
}

/**
 * An rsync job through the lab's tunnel to an sshd on the server's private address: `streams`
 * workers, a short --timeout (`ioSeconds`) so a dead tunnel ends a worker instead of hanging it.
 * `repoDir` is the destination folder (the namespaces share this machine's file system).
 */
export function prepareRsyncFaultJob(lab: SwanHostLab, name: string, sshd: { host: string; port: number; userKey: string; knownHosts: string }, data: { dir: string; bytes: number }, ioSeconds: number): FaultJob {
  const home = join(lab.dir, `home-${name}`);
  const dest = join(lab.dir, `dest-${name}`);
  mkdirSync(join(home, 'run'), { recursive: true });
  mkdirSync(dest);
  const pki = join(lab.dir, 'pki');
  const profile = {
    type: 'ikev2', driver: 'linux-swan', gateways: [LAB_GATEWAY], routes: [LAB_REPO_SUBNET],
    auth: { method: 'certificate', certificate: join(pki, 'client.pem'), key: `file:${join(pki, 'client.key')}`, ca: join(pki, 'ca.pem') },
    ikeProposals: [LAB_IKE], espProposals: [LAB_ESP], keepaliveSeconds: 5, stallIntervals: 2, reconnectDeadlineSeconds: 120,
  };
  const lines = [
    'jobs:',
    `  ${JOB}:`,
    '    engine: rsync',
    `    sources: [${data.dir}]`,
    `    repository: ${dest}`,
    '    streams: 3',
    '    bandwidthLimit: 1 MiB/s',
    `    profile: ${PROFILE}`,
    `    timeouts: { ioSeconds: ${ioSeconds}, connectSeconds: 10 }`,
    '    ssh:',
    `      host: ${sshd.host}`,
    `      port: ${sshd.port}`,
    '      user: root',
    `      identity: file:${sshd.userKey}`,
    `      knownHosts: ${sshd.knownHosts}`,
    `profiles: ${JSON.stringify({ [PROFILE]: profile })}`,
    '',
  ];
  writeFileSync(join(home, 'config.yaml'), lines.join('\n'));
  return { home, data: data.dir, dataBytes: data.bytes, repoDir: dest };
}

/** The client charon's pid file inside the job's private tunnel dir. */
export function charonPidFile(home: string): string {
  return join(home, 'state', 'tunnels', PROFILE, 'run', 'charon.pid');
}

/** Counts what leaves the client's WAN interface for the repository subnet in clear. */
export async function leakCounterUp(lab: SwanHostLab, tag: string): Promise<void> {
  const rules = `table ip ${tag}leak {\n chain out {\n  type filter hook output priority filter;\n  oifname "${tag}c0" ip daddr ${LAB_REPO_SUBNET} counter\n }\n}\n`;
  await sh(`ip netns exec ${lab.ns.client} nft -f -`, { stdin: rules });
}

export async function leakedPackets(lab: SwanHostLab, tag: string): Promise<number> {
  const text = await sh(`ip netns exec ${lab.ns.client} nft list table ip ${tag}leak`);
  return Number(/counter packets (\d+)/.exec(text)?.[1] ?? 'NaN');
}

/**
 * Starts one run of the job and returns its record (undefined if none came within `timeoutMs`).
 * `onEvent` sees every event in order, one at a time, and may act on the way (drop the tunnel).
 */
export async function runJobOnce(running: AgentUnderTest, onEvent: (event: AgentEvent) => Promise<void>, timeoutMs: number): Promise<SessionRecord | undefined> {
  const controller = new AbortController();
  const timer = setTimeout(() => { controller.abort(); }, timeoutMs);
  let record: SessionRecord | undefined;
  let acting = Promise.resolve();
  await running.client.events((event) => {
    if (event.type === 'snapshot') void running.client.startRun(JOB);
    acting = acting.then(async () => {
      await onEvent(event);
      if (event.type === 'ended') {
        record = event.record;
        controller.abort();
      }
    });
  }, controller.signal).catch(() => undefined);
  clearTimeout(timer);
  await acting;
  return record;
}
