/** A validated rsync job becomes the engine's options; a job without ssh gives none. */
import { describe, expect, it } from 'vitest';
import { rsyncJobOptions } from '../../src/backup/rsync-job.js';
import { parseConfigText } from '../../src/config/load.js';

function job(yaml: string) {
  const result = parseConfigText(`jobs:\n  nas:\n${yaml}`, 'test.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  const j = result.config.jobs['nas'];
  if (j === undefined) throw new Error('no job');
  return j;
}

describe('rsyncJobOptions', () => {
  it('maps the ssh block, mirror and timeouts', () => {
    const options = rsyncJobOptions(
      job(`    engine: rsync
    sources: [/home/me]
    repository: /srv/b
    mirror: true
    timeouts: { ioSeconds: 60 }
    ssh: { host: nas.example, port: 2222, user: backup, identity: file:/k, knownHosts: /kh }
`),
    );
    expect(options).toEqual({
      target: { host: 'nas.example', port: 2222, user: 'backup', identityFile: '/k', knownHostsFile: '/kh' },
      mirror: true,
      ioTimeoutSeconds: 60,
      connectTimeoutSeconds: 30,
    });
  });

  it('leaves defaults to the engine, and gives nothing for a restic job', () => {
    expect(rsyncJobOptions(job('    engine: rsync\n    sources: [/h]\n    repository: /srv/b\n    ssh: { host: h, user: u, identity: file:/k }\n'))).toEqual({
      target: { host: 'h', port: 22, user: 'u', identityFile: '/k' },
      mirror: false,
    });
    expect(rsyncJobOptions(job('    sources: [/h]\n    repository: /srv/r\n    password: file:/pw\n'))).toBeUndefined();
  });
});
