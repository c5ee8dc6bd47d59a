import { randomBytes } from 'node:crypto';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Where the demo keeps its files, all under the user's state dir. */
export interface DemoLayout {
  readonly root: string;
  readonly sampleDir: string;
  readonly repository: string;
  readonly passwordFile: string;
}

export function demoLayout(stateDir: string): DemoLayout {
  const root = join(stateDir, 'demo');
  return {
    root,
    sampleDir: join(root, 'sample'),
    repository: join(root, 'repository'),
    passwordFile: join(root, 'repository.password'),
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A few MB of files that look like a user's folder: notes, a spreadsheet export, "photos"
 * (incompressible bytes), nested folders. Enough for a progress bar to move and for a second run
 * to show deduplication.
 */
export async function createSampleFolder(dir: string): Promise<void> {
  const files: [string, string | Buffer][] = [
    ['README.txt', 'This folder is Backhaul\'s demo: a sample of what a backup job protects.\nEdit or add files here and run "npm start" again to see a new snapshot.\n'],
    ['notes/meeting-2026-11-02.md', notes('Quarterly review', 40)],
    ['notes/ideas.md', notes('Ideas', 25)],
    ['notes/archive/2025/retrospective.md', notes('Retrospective 2025', 60)],
    ['spreadsheets/measurements.csv', csv(12_000)],
    ['spreadsheets/budget.csv', csv(800)],
    ['config/settings.json', `${JSON.stringify({ theme: 'dark', sync: true, retention: { daily: 7, weekly: 4 } }, null, 2)}\n`],
  ];
  for (let i = 1; i <= 4; i++) files.push([`photos/IMG_00${i}.jpg`, randomBytes(640 * 1024)]);
  files.push(['videos/clip.mp4', randomBytes(1536 * 1024)]);
  for (const [relative, content] of files) {
    const path = join(dir, relative);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
}

function notes(title: string, lines: number): string {
  const body = Array.from({ length: lines }, (_, i) => `- item ${i + 1}: follow up on the backup window and the VPN gateway rota`);
  return `# ${title}\n\n${body.join('\n')}\n`;
}

function csv(rows: number): string {
  const lines = ['timestamp,sensor,value'];
  const start = Date.UTC(2026, 0, 1);
  for (let i = 0; i < rows; i++) lines.push(`${new Date(start + i * 60_000).toISOString()},s${i % 7},${((i * 37) % 1000) / 10}`);
  return `${lines.join('\n')}\n`;
}

/** The demo job's config, with a comment that says what each line is for. JSON strings are valid YAML scalars. */
export function demoConfigYaml(layout: DemoLayout): string {
  const q = (value: string) => JSON.stringify(value);
  return [
    '# Backhaul configuration. Reference: docs/configuration.md',
    '# Created by "npm start" with a ready demo job; add your own jobs and VPN profiles below.',
    'version: 1',
    'jobs:',
    '  demo:',
    '    engine: restic',
    '    sources:',
    `      - ${q(layout.sampleDir)}`,
    `    repository: ${q(layout.repository)}`,
    '    # A reference to the secret, never the secret itself: a file readable only by you (mode 0600).',
    `    password: ${q(`file:${layout.passwordFile}`)}`,
    '    profile: direct   # no VPN: the repository is a local folder',
    '    streams: 2',
    '',
  ].join('\n');
}

/** Whether the repository at `path` was initialised (restic writes `config` first). */
export function repositoryExists(path: string): Promise<boolean> {
  return exists(join(path, 'config'));
}

export { exists as pathExists };
