#!/usr/bin/env node
// `npm start`: make sure restic is installed and the TypeScript is built, start the agent (user
// mode, with the web listener), run the demo job through it (`backhaul demo`), print the web UI
// address, and keep the agent running until Ctrl-C, which shuts it down cleanly.
import { spawn, spawnSync } from 'node:child_process';
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

// The web UI bundle (src/renderer → dist/ui), rebuilt when its sources changed.
const ui = join(root, 'dist', 'ui', 'index.html');
const uiSources = (dir) => {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? uiSources(path) : statSync(path).mtimeMs);
  }
  return newest;
};
if (!existsSync(ui) || uiSources(join(root, 'src', 'renderer')) > statSync(ui).mtimeMs) {
  console.log('Building the web UI…');
  if (run([process.execPath, join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '-c', 'src/renderer/vite.config.ts', '--logLevel', 'warn']) !== 0) process.exit(1);
}

// restic is the one system package the demo needs: install it where we can, else say how.
const hasRestic = spawnSync('restic', ['version'], { stdio: 'ignore' }).status === 0;
if (!hasRestic && process.platform !== 'win32') {
  if (run(['bash', join(root, 'scripts', 'setup-system.sh')]) !== 0) process.exit(1);
}

const cli = (args) => spawnSync(process.execPath, [bin, ...args], { cwd: root, stdio: 'ignore' }).status;

// The demo job needs its config before the agent loads it: `backhaul demo --prepare` creates it.
if (run([process.execPath, bin, 'demo', '--prepare']) !== 0) process.exit(1);

// Reuse an agent that already runs for this user (or this BACKHAUL_HOME); otherwise start one.
let agent;
let webUrl;
if (cli(['status']) !== 0) {
  // Its own process group: Ctrl-C reaches this script, which stops the agent in order.
  agent = spawn(process.execPath, [bin, 'agent', '--web'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  agent.stdout.setEncoding('utf8');
  const started = await new Promise((resolve) => {
    let seen = '';
    agent.stdout.on('data', (chunk) => {
      seen += chunk;
      const url = /Web UI: (\S+)/.exec(seen);
      if (url) {
        webUrl = url[1];
        resolve(true);
      }
    });
    agent.on('exit', () => resolve(false));
  });
  if (!started) {
    console.error('npm start: the agent did not start (see above).');
    process.exit(1);
  }
  // From now on the agent speaks for itself (its shutdown messages).
  agent.stdout.on('data', (chunk) => process.stdout.write(chunk));
}

// Ready for Ctrl-C before anything tells the user to press it.
let stopping = false;
const stop = () => {
  if (stopping || agent === undefined) return;
  stopping = true;
  console.log('\nStopping the agent…');
  agent.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

const demo = run([process.execPath, bin, 'demo', ...process.argv.slice(2)]);
if (stopping) process.exit(demo);
if (agent === undefined) {
  console.log('An agent was already running; it keeps running.');
  process.exit(demo);
}
console.log(`\nWeb UI (this link carries a one-time access token): ${webUrl}`);
console.log('The agent keeps running. Press Ctrl-C to stop it.');
agent.on('exit', (code) => {
  process.exitCode = demo !== 0 ? demo : (code ?? 1);
});
