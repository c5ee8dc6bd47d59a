// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

/** Process spawning lives behind the CommandRunner seam in src/os (STYLE.md point 4, 6). */
const spawnModules = [
  { name: 'child_process', message: 'Run OS commands through CommandRunner (src/os/command.ts).' },
  { name: 'node:child_process', message: 'Run OS commands through CommandRunner (src/os/command.ts).' },
  { name: 'node-pty', message: 'Use CommandRunner pty mode (src/os/command.ts).' },
  { name: '@lydell/node-pty', message: 'Use CommandRunner pty mode (src/os/command.ts).' },
];

/** Folders are process boundaries: drivers and engines never reach up into the agent. */
const agentImport = {
  group: ['**/agent', '**/agent/**'],
  message: 'src/connect and src/backup must not import src/agent: dependencies point down (ARCHITECTURE.md).',
};

/** Lower layers never reach up into the CLI or the UI. */
const clientImports = {
  group: ['**/cli/**', '**/renderer/**', '**/main/**'],
  message: 'Only clients import clients: agent, connect, backup, config and os never import cli/renderer/main.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'dist-check/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/os/**'],
    rules: { 'no-restricted-imports': ['error', { paths: spawnModules }] },
  },
  {
    files: ['src/connect/**/*.ts', 'src/backup/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: spawnModules, patterns: [agentImport, clientImports] }] },
  },
  {
    files: ['src/agent/**/*.ts', 'src/config/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: spawnModules, patterns: [clientImports] }] },
  },
  {
    // The renderer runs in a sandboxed browser page: no Node, no Electron, only the typed client.
    files: ['src/renderer/**/*.ts', 'src/renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'electron'].map((name) => ({
            name,
            message: 'src/renderer runs in a browser sandbox: reach the agent through the typed client, never Node or Electron.',
          })),
          patterns: [{ group: ['**/agent/**', '**/os/**', '**/connect/**', '**/backup/**'], message: 'src/renderer talks to the agent only through the Local API client.' }],
        },
      ],
    },
  },
  {
    files: ['src/os/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [clientImports, { group: ['**/agent/**', '**/connect/**', '**/backup/**'], message: 'src/os is the bottom layer.' }] }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Plain Node scripts (npm start, config files).
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
