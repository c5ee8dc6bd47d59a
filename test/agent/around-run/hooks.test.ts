import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { HOOK_OUTPUT_CHARS, HookError, runEndHooks, runHooks, type HookSet } from '../../../src/agent/around-run/hooks.js';
import { createCommandRunner } from '../../../src/os/command.js';
import { REDACTED, SecretRedactor } from '../../../src/os/redact.js';

const none: HookSet = { pre: [], post: [], onFailure: [], timeoutSeconds: 30 };
const context = { job: 'nightly', sessionId: '20261125T031500Z-9f3a1c' };
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backhaul-hooks-'));
});

async function failure(promise: Promise<unknown>): Promise<HookError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof HookError)) throw new Error(`expected a HookError, got ${String(error)}`);
  return error;
}

describe('runHooks (real processes)', () => {
  it('runs each pre hook in order, argv as given (no shell), with the job and session in the environment', async () => {
    const out = join(dir, 'out');
    const hooks: HookSet = {
      ...none,
      pre: [
        ['sh', '-c', 'echo "first $BACKHAUL_JOB $BACKHAUL_SESSION ${BACKHAUL_RESULT-none}" >> "$0"', out],
        // An argument with spaces and a $ stays one argument: nothing re-parses it.
        ['sh', '-c', 'printf "%s\\n" "$1" >> "$0"', out, 'a b $HOME'],
      ],
    };
    await runHooks(createCommandRunner(), hooks, 'pre', context);
    expect(await readFile(out, 'utf8')).toBe('first nightly 20261125T031500Z-9f3a1c none\na b $HOME\n');
  });

  it('the first failing pre hook stops the rest: hook.pre-failed naming it, how it ended and its output (stdout and stderr)', async () => {
    const out = join(dir, 'never');
    const hooks: HookSet = { ...none, pre: [['true'], ['sh', '-c', 'echo database still busy; echo lock held >&2; exit 3'], ['touch', out]] };
    const error = await failure(runHooks(createCommandRunner(), hooks, 'pre', context));
    expect(error.code).toBe('hook.pre-failed');
    expect(error.message).toBe('hooks.pre[1] (sh) exited with 3; its output:\ndatabase still busy\nlock held');
    expect(error.hint).toMatch(/The backup did not start/);
    await expect(readFile(out)).rejects.toThrow();
  });

  it('a secret the runner knows never reaches the message, and long output is cut to its tail', async () => {
    const redactor = new SecretRedactor();
    redactor.add('hunter2-repository-pw');
    const hooks: HookSet = { ...none, pre: [['sh', '-c', 'i=0; while [ $i -lt 500 ]; do echo "line $i"; i=$((i+1)); done; echo "pw=hunter2-repository-pw"; exit 1']] };
    const error = await failure(runHooks(createCommandRunner({ redactor }), hooks, 'pre', context));
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain(`pw=${REDACTED}`);
    const output = error.message.slice(error.message.indexOf('its output:\n') + 'its output:\n'.length);
    expect(output.length).toBe(HOOK_OUTPUT_CHARS + 1);
    expect(output.startsWith('…')).toBe(true);
  });

  it('a hook past hooks.timeoutSeconds is stopped and says so', async () => {
    const error = await failure(runHooks(createCommandRunner(), { ...none, timeoutSeconds: 1, pre: [['sleep', '30']] }, 'pre', context));
    expect(error.message).toBe('hooks.pre[0] (sleep) was stopped after hooks.timeoutSeconds (1 s)');
  });

  it('a program that does not exist is a pre-hook failure naming it', async () => {
    const error = await failure(runHooks(createCommandRunner(), { ...none, pre: [['/nonexistent/backhaul-hook']] }, 'pre', context));
    expect(error.code).toBe('hook.pre-failed');
    expect(error.message).toMatch(/^hooks\.pre\[0\] \(\/nonexistent\/backhaul-hook\) could not be started/);
  });

  it('a cancel stops the hook and rejects with the cancel, not a hook failure', async () => {
    const controller = new AbortController();
    const running = runHooks(createCommandRunner(), { ...none, pre: [['sleep', '30']] }, 'pre', context, controller.signal);
    setTimeout(() => { controller.abort(new Error('cancelled by user')); }, 50);
    await expect(running).rejects.toThrow('cancelled by user');
  });
});

describe('runEndHooks', () => {
  it('post hooks after success, with BACKHAUL_RESULT; onFailure hooks are not run', async () => {
    const out = join(dir, 'out');
    const hooks: HookSet = { ...none, post: [['sh', '-c', 'echo "post $BACKHAUL_RESULT" >> "$0"', out]], onFailure: [['sh', '-c', 'echo onFailure >> "$0"', out]] };
    expect(await runEndHooks(createCommandRunner(), hooks, { ...context, result: 'warning' })).toBeUndefined();
    expect(await readFile(out, 'utf8')).toBe('post warning\n');
  });

  it('onFailure hooks after a failure; a failing one comes back as a note, never thrown', async () => {
    const out = join(dir, 'out');
    const hooks: HookSet = { ...none, post: [['sh', '-c', 'echo post >> "$0"', out]], onFailure: [['sh', '-c', 'echo "onFailure $BACKHAUL_RESULT" >> "$0"; exit 2', out]] };
    const note = await runEndHooks(createCommandRunner(), hooks, { ...context, result: 'failed' });
    expect(await readFile(out, 'utf8')).toBe('onFailure failed\n');
    expect(note).toMatchObject({ code: 'hook.on-failure-failed', message: 'hooks.onFailure[0] (sh) exited with 2' });
    expect(note?.hint).toMatch(/The backup itself is not affected/);
  });
});
