import { existsSync } from 'node:fs';

/** The restic binaries every restic suite runs against: Debian 12's 0.14.0 and the pinned 0.18.0. */
export interface ResticUnderTest {
  readonly label: string;
  readonly path: string;
  /** Why this version can't be tested here (binary missing), or undefined. */
  readonly skip?: string;
}

export const RESTIC_018_DEFAULT = '/var/tmp/backhaul-cache/restic-0.18.0/restic';

export function resticBinariesForTests(): ResticUnderTest[] {
  const r014 = process.env.BACKHAUL_TEST_RESTIC_014 ?? '/usr/bin/restic';
  const r018 = process.env.BACKHAUL_TEST_RESTIC_018 ?? RESTIC_018_DEFAULT;
  const entry = (label: string, path: string): ResticUnderTest =>
    existsSync(path) ? { label, path } : { label, path, skip: `${path} is missing: run scripts/setup-system.sh --test` };
  return [entry('0.14.0', r014), entry('0.18.0', r018)];
}
