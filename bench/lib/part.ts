/**
 * What a benchmark part is: one named measurement that `npm run bench -- NAME [options]` runs on
 * its own and `npm run bench` runs with the others. Each part is a module in bench/parts/ that
 * exports `part`; bench/run.ts finds them there, so adding a part means adding one file.
 */
export interface BenchPart {
  /** What follows `npm run bench --`, e.g. `wan`. */
  readonly name: string;
  /** One line for `npm run bench -- --list`. */
  readonly summary: string;
  /** Option help, printed by `npm run bench -- NAME --help`. */
  readonly usage?: string;
  /** Runs the measurement and prints its table; `args` are the options after the part's name. */
  run(args: readonly string[]): Promise<void>;
}
