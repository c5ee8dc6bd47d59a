import { describe, expect, it } from 'vitest';
import { preferredAgentSocket } from '../../../src/os/service/agent-socket.js';
import type { HostDescription } from '../../../src/os/paths.js';

const linux: HostDescription = { platform: 'linux', env: { XDG_RUNTIME_DIR: '/run/user/1000' }, homedir: '/home/me', mode: 'user' };

describe('preferredAgentSocket', () => {
  it("uses the system service's socket when it exists, else the user's agent", () => {
    expect(preferredAgentSocket(linux, (p) => p === '/run/backhaul/agent.sock')).toBe('/run/backhaul/agent.sock');
    expect(preferredAgentSocket(linux, () => false)).toBe('/run/user/1000/backhaul/agent.sock');
    expect(preferredAgentSocket({ ...linux, platform: 'darwin' }, (p) => p === '/var/run/backhaul/agent.sock')).toBe('/var/run/backhaul/agent.sock');
  });

  it("Windows: the service's fixed named pipe", () => {
    expect(preferredAgentSocket({ platform: 'win32', env: { LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local', APPDATA: 'C:\\Users\\me\\AppData\\Roaming', PROGRAMDATA: 'C:\\ProgramData' }, homedir: 'C:\\Users\\me', mode: 'user' }, () => false)).toBe('\\\\.\\pipe\\backhaul');
  });
});
