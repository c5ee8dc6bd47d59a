import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints the plain closing line `N passed, N failed, N skipped` that CI reads, after vitest's own
 * report, and before it one `FAILED: file > test: first line of the error` per failure, which
 * .ci/run gathers again at the end of its output (a long run's tail otherwise shows only the last
 * suite). Unhandled errors count as failures so a crash between tests can't pass silently.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let skipped = 0;
    const failures: string[] = [];
    for (const module of testModules) {
      const file = relative(process.cwd(), module.moduleId);
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) {
        failures.push(`${file}: ${firstLine(module.errors()[0]?.message)}`);
      }
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') passed++;
        else if (result.state === 'failed') failures.push(`${file} > ${test.fullName}: ${firstLine(result.errors[0]?.message)}`);
        else skipped++;
      }
    }
    for (const error of unhandledErrors) failures.push(`unhandled error: ${firstLine(error instanceof Error ? error.message : String(error))}`);
    const lines = failures.map((failure) => `FAILED: ${failure}\n`).join('');
    process.stdout.write(`\n${lines}${passed} passed, ${failures.length} failed, ${skipped} skipped\n`);
  }
}

function firstLine(message: string | undefined): string {
  return (message ?? 'no error message').split('\n', 1)[0]?.slice(0, 300) ?? '';
}
