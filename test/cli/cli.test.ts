import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli-io.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'backhaul-cli-'));
});

/** Anything that looks like a JavaScript stack frame: users never see one. */
const stackFrame = /^\s+at .+\(.+:\d+:\d+\)$/m;

describe('backhaul CLI', () => {
  it('prints help with every command and the exit codes', async () => {
    const { io, out } = captureIo();
    expect(await main(['--help'], io)).toBe(0);
    for (const command of ['run', 'init', 'snapshots', 'config', 'demo', 'agent', 'status', 'cancel', 'history', 'logs']) expect(out.text()).toContain(command);
    expect(out.text()).toContain('130  cancelled');
  });

  it.each([['run'], ['init'], ['snapshots'], ['config', 'validate'], ['demo'], ['agent'], ['status'], ['cancel'], ['history'], ['logs']])('has --help for %s', async (...command) => {
    const { io, out } = captureIo();
    expect(await main([...command, '--help'], io)).toBe(0);
    expect(out.text()).toMatch(/^Usage: backhaul /);
  });

  it('rejects an unknown command with exit 2', async () => {
    const { io, err } = captureIo();
    expect(await main(['bakcup'], io)).toBe(2);
    expect(err.text()).toContain("unknown command 'bakcup'");
  });

  it('says the agent is not running and how to run a job without it', async () => {
    const { io, err } = captureIo();
    expect(await main(['--home', home, 'run', 'nightly'], io)).toBe(1);
    expect(err.text()).toContain('error: the Backhaul agent is not running');
    expect(err.text()).toContain('Or run it in this process: backhaul run nightly --foreground');
  });

  it('validates a config file and names every problem with its line, without a stack trace', async () => {
    const file = join(home, 'bad.yaml');
    await writeFile(file, 'jobs:\n  nightly:\n    sources: [/data]\n    repository: /srv/repo\n    strems: 4\n');
    const { io, err } = captureIo();
    expect(await main(['config', 'validate', file], io)).toBe(2);
    expect(err.text()).toContain(`${file}:5:5`);
    expect(err.text()).toContain('jobs.nightly.strems');
    expect(err.text()).toContain('did you mean "streams"');
    expect(err.text()).not.toMatch(stackFrame);
  });

  it('reports a valid config', async () => {
    const file = join(home, 'good.yaml');
    await writeFile(file, 'jobs:\n  nightly:\n    sources: [/data]\n    repository: /srv/repo\n    password: file:/etc/backhaul/pw\n');
    const { io, out } = captureIo();
    expect(await main(['config', 'validate', file], io)).toBe(0);
    expect(out.text()).toContain('valid (1 job: nightly; 0 profiles)');
  });

  it('prints warnings with their position but still calls the file valid', async () => {
    const file = join(home, 'warn.yaml');
    await writeFile(file, 'jobs:\n  nightly:\n    sources: [/data]\n    repository: rest:https://u:pw@backup.example.com/r\n    password: keychain:office\n');
    const { io, out, err } = captureIo();
    expect(await main(['config', 'validate', file], io)).toBe(0);
    expect(out.text()).toContain('valid (1 job: nightly');
    expect(err.text()).toMatch(new RegExp(`^warning: ${file}:4:\\d+: jobs\\.nightly\\.repository: the URL embeds a password`, 'm'));
    expect(err.text()).not.toContain('keychain');
  });

  it('refuses to run with an invalid config file, exit 2, and lists the problems', async () => {
    await writeFile(join(home, 'config.yaml'), 'jobs: [1, 2]\n');
    const { io, err } = captureIo();
    expect(await main(['--home', home, 'run', 'x', '--foreground'], io)).toBe(2);
    expect(err.text()).toContain(`error: the config file is not valid: ${join(home, 'config.yaml')}`);
    expect(err.text()).not.toMatch(stackFrame);
  });

  it('names the known jobs when the job does not exist', async () => {
    await writeFile(join(home, 'config.yaml'), 'jobs:\n  nightly:\n    sources: [/data]\n    repository: /srv/repo\n    password: file:/etc/pw\n');
    const { io, err } = captureIo();
    expect(await main(['--home', home, 'run', 'weekly', '--foreground'], io)).toBe(2);
    expect(err.text()).toContain('error: there is no job named "weekly"');
    expect(err.text()).toContain('hint: Known jobs: nightly.');
  });

  it('prints where things live under BACKHAUL_HOME', async () => {
    const { io, out } = captureIo();
    expect(await main(['--home', home, 'config', 'path'], io)).toBe(0);
    expect(out.text()).toContain(`config  ${join(home, 'config.yaml')}`);
    expect(out.text()).toContain(`state   ${join(home, 'state')}`);
  });
});
