import { describe, expect, it } from 'vitest';
import { socketPath } from '../../src/agent/agent.js';
import type { BackhaulPaths } from '../../src/os/paths.js';

const paths = (runtimeDir: string): BackhaulPaths => ({ configFile: '', stateDir: '', logDir: '', cacheDir: '', runtimeDir });

describe('socketPath', () => {
  it.each([
    ['linux', 'user', '/run/user/1000/backhaul', '/run/user/1000/backhaul/agent.sock'],
    ['linux', 'system', '/run/backhaul', '/run/backhaul/agent.sock'],
    ['darwin', 'user', '/Users/a/Library/Application Support/Backhaul/run', '/Users/a/Library/Application Support/Backhaul/run/agent.sock'],
    ['win32', 'system', 'C:\\ProgramData\\Backhaul\\run', '\\\\.\\pipe\\backhaul'],
  ] as const)('%s %s', (platform, mode, runtimeDir, want) => {
    expect(socketPath(paths(runtimeDir), platform, mode)).toBe(want);
  });

  it('gives each Windows user agent its own pipe', () => {
    const a = socketPath(paths('C:\\Users\\a\\AppData\\Local\\Backhaul\\run'), 'win32', 'user');
    const b = socketPath(paths('C:\\Users\\b\\AppData\\Local\\Backhaul\\run'), 'win32', 'user');
    expect(a).toMatch(/^\\\\\.\\pipe\\backhaul-[0-9a-f]{16}$/);
    expect(a).not.toBe(b);
  });
});
