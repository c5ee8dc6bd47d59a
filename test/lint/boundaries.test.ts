/**
 * The folder boundaries of STYLE.md point 4 are lint rules (eslint.config.js); this proves they
 * fire where they must and stay quiet where imports are allowed. Type-aware rules are switched off
 * for these in-memory files, which the TypeScript project doesn't know.
 */
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const eslint = new ESLint({
  cwd: root,
  overrideConfig: [{ ...tseslint.configs.disableTypeChecked, languageOptions: { parserOptions: { projectService: false, project: null } } }],
});

async function restrictedImports(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const spawnImport = "import { spawn } from 'node:child_process';\nexport const x = spawn;\n";
const ptyImport = "import { spawn } from '@lydell/node-pty';\nexport const x = spawn;\n";

describe('lint: folder boundaries', () => {
  it.each(['src/agent/x.ts', 'src/backup/x.ts', 'src/connect/x.ts', 'src/cli/x.ts', 'src/config/x.ts'])('%s may not spawn processes', async (file) => {
    expect(await restrictedImports(file, spawnImport)).toEqual([expect.stringContaining('CommandRunner')]);
    expect(await restrictedImports(file, ptyImport)).toEqual([expect.stringContaining('pty mode')]);
    expect(await restrictedImports(file, "import cp from 'child_process';\nexport const x = cp;\n")).toHaveLength(1);
  });

  it('src/os may spawn processes', async () => {
    expect(await restrictedImports('src/os/x.ts', spawnImport)).toEqual([]);
    expect(await restrictedImports('src/os/x.ts', ptyImport)).toEqual([]);
  });

  it.each(['src/backup/x.ts', 'src/connect/x.ts'])('%s may not import the agent', async (file) => {
    const messages = await restrictedImports(file, "import { runSession } from '../agent/session/session.js';\nexport const x = runSession;\n");
    expect(messages).toEqual([expect.stringContaining('must not import src/agent')]);
  });

  it('the agent may import drivers and engines, but not the CLI', async () => {
    expect(await restrictedImports('src/agent/x.ts', "import { createDirectDriver } from '../connect/direct.js';\nexport const x = createDirectDriver;\n")).toEqual([]);
    expect(await restrictedImports('src/agent/x.ts', "import { main } from '../cli/main.js';\nexport const x = main;\n")).toEqual([expect.stringContaining('Only clients import clients')]);
  });

  it('src/os is the bottom layer', async () => {
    expect(await restrictedImports('src/os/x.ts', "import { selectDriver } from '../connect/select.js';\nexport const x = selectDriver;\n")).toEqual([expect.stringContaining('bottom layer')]);
  });

  it('the renderer may not import Node built-ins, Electron or the agent', async () => {
    expect(await restrictedImports('src/renderer/x.ts', "import { readFile } from 'node:fs';\nexport const x = readFile;\n")).toEqual([expect.stringContaining('browser sandbox')]);
    expect(await restrictedImports('src/renderer/x.ts', "import { ipcRenderer } from 'electron';\nexport const x = ipcRenderer;\n")).toEqual([expect.stringContaining('browser sandbox')]);
    expect(await restrictedImports('src/renderer/x.ts', "import { runJob } from '../agent/run-job.js';\nexport const x = runJob;\n")).toEqual([expect.stringContaining('Local API client')]);
  });
});
