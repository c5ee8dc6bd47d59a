import { defineConfig } from 'vitest/config';

/**
 * Tiers: `npm test` runs everything under test/ but the fault lab's longer tiers;
 * `npm run test:faults` (BACKHAUL_TIER=faults, in .ci/run) runs test/faults/tier, a few drops of each
 * kind; `npm run test:soak` (BACKHAUL_TIER=soak, not in CI) runs the 20-drop soak.
 */
const tier = process.env.BACKHAUL_TIER;
const TIER_DIRS = { faults: 'test/faults/tier', soak: 'test/faults/soak' } as const;
if (tier !== undefined && !(tier in TIER_DIRS)) throw new Error(`BACKHAUL_TIER must be one of ${Object.keys(TIER_DIRS).join(', ')}, got ${tier}`);
const tierDir = tier === undefined ? undefined : TIER_DIRS[tier as keyof typeof TIER_DIRS];

export default defineConfig({
  test: {
    include: tierDir === undefined ? ['test/**/*.test.ts'] : [`${tierDir}/**/*.test.ts`],
    exclude: tierDir === undefined ? ['**/node_modules/**', ...Object.values(TIER_DIRS).map((dir) => `${dir}/**`)] : ['**/node_modules/**'],
    // Integration suites spawn real restic, rclone and shells: give them room on a 2-core machine,
    // but never let one hang the run.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
