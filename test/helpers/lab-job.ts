/**
 * A Backhaul home in the host lab (swan-host-lab.ts): one job that backs up a folder through the
 * lab's IKEv2 tunnel (linux-swan, certificates) into a fresh repository on the server. Shared by
 * the crash tests and the fault lab.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJobConfig } from './agent-process.js';
import { LAB_ESP, LAB_GATEWAY, LAB_IKE, LAB_REPO_SUBNET, type SwanHostLab } from './swan-host-lab.js';

export const PROFILE = 'lab';
export const JOB = 'offsite';

export interface LabHome {
  readonly home: string;
  readonly passwordFile: string;
}

/** `name` names the home, the password file and the repository. */
export async function prepareLabHome(lab: SwanHostLab, name: string, data: string, options: { bandwidthLimit?: string; resticPath?: string; profileExtra?: Record<string, unknown> } = {}): Promise<LabHome> {
  const home = join(lab.dir, `home-${name}`);
  mkdirSync(home);
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const passwordFile = join(lab.dir, `${name}.pw`);
  writeFileSync(passwordFile, password, { mode: 0o600 });
  const repository = await lab.initRepo(name, passwordFile);
  const pki = join(lab.dir, 'pki');
  await writeJobConfig(home, {
    name: JOB, data, repository, password,
    ...(options.bandwidthLimit === undefined ? {} : { bandwidthLimit: options.bandwidthLimit }),
    ...(options.resticPath === undefined ? {} : { resticPath: options.resticPath }),
    profile: {
      name: PROFILE,
      settings: {
        type: 'ikev2', driver: 'linux-swan', gateways: [LAB_GATEWAY], routes: [LAB_REPO_SUBNET],
        auth: { method: 'certificate', certificate: join(pki, 'client.pem'), key: `file:${join(pki, 'client.key')}`, ca: join(pki, 'ca.pem') },
        ikeProposals: [LAB_IKE], espProposals: [LAB_ESP],
        ...options.profileExtra,
      },
    },
  });
  return { home, passwordFile };
}
