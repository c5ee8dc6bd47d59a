/**
 * `npm run bench` runs every part in bench/parts/ in name order; `npm run bench -- NAME [options]`
 * runs one; `npm run bench -- --list` lists them. A part is a module exporting `part: BenchPart`
 * (bench/lib/part.ts), so engineers add parts without touching this file. Benchmarks are not tests:
 * they take minutes, print tables, and are never part of `npm test`.
 */
import { readdirSync } from 'node:fs';
import type { BenchPart } from './lib/part.js';

const partsDir = new URL('./parts/', import.meta.url);

/** Every part, by name. A module that does not export a valid `part` is an error, not skipped. */
async function discover(): Promise<Map<string, BenchPart>> {
  const parts = new Map<string, BenchPart>();
  const files = readdirSync(partsDir)
    .filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
  for (const file of files) {
    const mod = (await import(new URL(file, partsDir).href)) as { part?: Partial<BenchPart> };
    const part = mod.part;
    if (typeof part?.name !== 'string' || typeof part.run !== 'function' || typeof part.summary !== 'string') {
      throw new Error(`bench/parts/${file} must export \`part: BenchPart\` (name, summary, run)`);
    }
    if (parts.has(part.name)) throw new Error(`two bench parts are named ${part.name}`);
    parts.set(part.name, part as BenchPart);
  }
  return parts;
}

async function main(argv: readonly string[]): Promise<number> {
  const parts = await discover();
  const [first, ...rest] = argv;
  if (first === '--list' || first === '--help' || first === '-h') {
    console.log('npm run bench [-- PART [options]]\n\nparts:');
    for (const part of parts.values()) console.log(`  ${part.name.padEnd(14)} ${part.summary}`);
    return 0;
  }
  if (first === undefined) {
    for (const part of parts.values()) {
      console.log(`\n## bench: ${part.name} — ${part.summary}\n`);
      await part.run([]);
    }
    return 0;
  }
  if (first.startsWith('-')) {
    console.error('options belong to a part: npm run bench -- PART [options] (see --list)');
    return 2;
  }
  const part = parts.get(first);
  if (part === undefined) {
    console.error(`unknown bench part "${first}"; parts: ${[...parts.keys()].join(', ')}`);
    return 2;
  }
  if (rest.includes('--help')) {
    console.log(`npm run bench -- ${part.name} [options]\n\n${part.summary}\n\n${part.usage ?? '(no options)'}`);
    return 0;
  }
  await part.run(rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
