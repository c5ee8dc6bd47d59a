#!/usr/bin/env node
// `npm start`: make sure restic is installed and the TypeScript is built, then run the demo job
// (`backhaul demo`). Later versions start the agent and the UI here too.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'dist', 'cli', 'bin.js');

/** Newest modification time under dir (TypeScript sources only). */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function run(argv, options = {}) {
  const result = spawnSync(argv[0], argv.slice(1), { cwd: root, stdio: 'inherit', ...options });
  if (result.error) {
    console.error(`npm start: could not run ${argv[0]}: ${result.error.message}`);
    process.exit(1);
  }
  return result.status ?? 1;
}

// Rebuild when the sources changed since the last build (`npm install` builds once via `prepare`).
if (!existsSync(bin) || newestSource(join(root, 'src')) > statSync(bin).mtimeMs) {
  console.log('Building Backhaul…');
  if (run([process.execPath, join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']) !== 0) process.exit(1);
}

// restic is the one system package the demo needs: install it where we can, else say how.
const hasRestic = spawnSync('restic', ['version'], { stdio: 'ignore' }).status === 0;
if (!hasRestic && process.platform !== 'win32') {
  if (run(['bash', join(root, 'scripts', 'setup-system.sh')]) !== 0) process.exit(1);
}

process.exitCode = run([process.execPath, bin, 'demo', ...process.argv.slice(2)]);
