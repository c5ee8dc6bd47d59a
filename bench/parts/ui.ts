/**
 * `npm run bench -- ui`: the web UI's bundle size (raw and gzip, per file) and how fast the Status
 * page first renders in Debian's Chromium against a real agent: first contentful paint (the frame),
 * and the moment the job's card shows the agent's state (after the event stream's snapshot).
 * Fresh page per run, cookie already set, so each run is a cold page load over 127.0.0.1.
 */
import { readdir, readFile, stat, mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startAgent } from '../../test/helpers/agent-process.js';
import { buildRenderer, chromiumSkipReason, launchChromium } from '../../test/helpers/chromium.js';
import type { BenchPart } from '../lib/part.js';

function parseRuns(args: readonly string[]): number {
  const i = args.indexOf('--runs');
  const runs = i >= 0 ? Number(args[i + 1]) : 10;
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) throw new Error('--runs must be 1–100');
  return runs;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

/** Records, in the page, when the first paint happened and when the Status page showed a job. */
const probe = `(() => {
  window.__bench = {};
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.name === 'first-contentful-paint') window.__bench.fcp = e.startTime;
  }).observe({ type: 'paint', buffered: true });
  // Checked every frame (a MutationObserver installed this early can miss the document swap).
  const check = () => {
    if (document.querySelector('main section.card h2')) window.__bench.status = performance.now();
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();`;

export const part: BenchPart = {
  name: 'ui',
  summary: 'web UI: bundle size (raw/gzip) and first render of the Status page in Chromium against a real agent',
  usage: '--runs N   page loads to measure (default 10)',
  async run(args) {
    const runs = parseRuns(args);
    const outDir = await buildRenderer();
    console.log('bundle (dist/ui)');
    console.log('| file                         |       raw |      gzip |');
    console.log('|------------------------------|----------:|----------:|');
    let raw = 0;
    let gz = 0;
    for (const dir of [outDir, join(outDir, 'assets')]) {
      for (const name of (await readdir(dir)).sort()) {
        const file = join(dir, name);
        if (!(await stat(file)).isFile()) continue;
        const bytes = await readFile(file);
        const zipped = gzipSync(bytes, { level: 9 }).length;
        raw += bytes.length;
        gz += zipped;
        console.log(`| ${(dir === outDir ? name : `assets/${name}`).padEnd(28)} | ${kib(bytes.length).padStart(9)} | ${kib(zipped).padStart(9)} |`);
      }
    }
    console.log(`| ${'total'.padEnd(28)} | ${kib(raw).padStart(9)} | ${kib(gz).padStart(9)} |`);
    console.log('');

    const skip = chromiumSkipReason();
    if (skip !== undefined) {
      console.log(`first render: skipped (${skip})`);
      return;
    }
    const home = await mkdtemp(join(tmpdir(), 'backhaul-bench-ui-'));
    await writeFile(join(home, 'pw'), 'bench-password', { mode: 0o600 });
    await writeFile(join(home, 'config.yaml'), `jobs:\n  nightly:\n    sources: [${home}]\n    repository: ${join(home, 'repo')}\n    password: file:${join(home, 'pw')}\n`);
    const agent = await startAgent(home, ['--web']);
    const browser = await launchChromium();
    try {
      const login = agent.webUrl() ?? '';
      const first = await browser.context.newPage();
      await first.goto(login);
      await first.close();
      const base = new URL('/', login).href;
      const fcp: number[] = [];
      const status: number[] = [];
      for (let i = 0; i < runs; i++) {
        const page = await browser.context.newPage();
        await page.addInitScript(probe);
        await page.goto(base);
        // Polled from outside (bounded: 300 × 100 ms): waitForFunction's string predicate would need 'unsafe-eval'.
        let result: { fcp?: number; status?: number } = {};
        for (let tries = 0; tries < 300 && (result.fcp === undefined || result.status === undefined); tries++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          result = await page.evaluate<{ fcp?: number; status?: number }>('window.__bench');
        }
        if (result.fcp === undefined || result.status === undefined) throw new Error(`the Status page did not render within 30 s (${JSON.stringify(result)})`);
        fcp.push(result.fcp);
        status.push(result.status);
        await page.close();
      }
      console.log(`first render of the Status page, ${runs} cold page loads (ms from navigation start)`);
      console.log('| moment                               |   median |      min |      max |');
      console.log('|--------------------------------------|---------:|---------:|---------:|');
      const row = (label: string, values: number[]) =>
        `| ${label.padEnd(36)} | ${median(values).toFixed(0).padStart(8)} | ${Math.min(...values).toFixed(0).padStart(8)} | ${Math.max(...values).toFixed(0).padStart(8)} |`;
      console.log(row('first contentful paint (the frame)', fcp));
      console.log(row('job card shown (frame after snapshot)', status));
    } finally {
      await browser.close();
      agent.process.kill('SIGTERM');
      await agent.exited;
      await rm(home, { recursive: true, force: true });
    }
  },
};
