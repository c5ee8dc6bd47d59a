import { describe, expect, it } from 'vitest';
import { repositoryEndpoint } from '../../src/backup/repository.js';

describe('repositoryEndpoint', () => {
  it.each([
    ['/srv/restic-repo', { kind: 'local', path: '/srv/restic-repo' }],
    ['C:\\Backups\\repo', { kind: 'local', path: 'C:\\Backups\\repo' }],
    ['rest:http://10.99.0.1:8000/office', { kind: 'tcp', scheme: 'rest', host: '10.99.0.1', port: 8000 }],
    ['rest:https://backup.example.com/office', { kind: 'tcp', scheme: 'rest', host: 'backup.example.com', port: 443 }],
    ['rest:http://[fd00::1]:8000/x', { kind: 'tcp', scheme: 'rest', host: 'fd00::1', port: 8000 }],
    ['sftp:backup@nas.lan:/volume1/restic', { kind: 'tcp', scheme: 'sftp', host: 'nas.lan', port: 22 }],
    ['sftp://backup@nas.lan:2222//volume1/restic', { kind: 'tcp', scheme: 'sftp', host: 'nas.lan', port: 2222 }],
    ['s3:https://minio.lan:9000/bucket', { kind: 'tcp', scheme: 's3', host: 'minio.lan', port: 9000 }],
    ['s3:s3.amazonaws.com/bucket', { kind: 'tcp', scheme: 's3', host: 's3.amazonaws.com', port: 443 }],
    ['rclone:remote:bucket', { kind: 'unprobed', scheme: 'rclone' }],
    ['b2:bucket:path', { kind: 'unprobed', scheme: 'b2' }],
    ['rest:not a url', { kind: 'unprobed', scheme: 'rest' }],
  ])('%s', (repository, want) => {
    expect(repositoryEndpoint(repository)).toEqual(want);
  });
});
