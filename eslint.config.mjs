// Lint rules, and the folder boundaries of the design (ARCHITECTURE.md, "Folder boundaries are enforced"):
//   schemas/   pure protocol declarations: no Node, no DOM, no other folder
//   schemas/node/  the client contract for Node clients: schemas/src and Node only
//   webviews/  browser code: protocol types only; never vscode, Node or daemon code
//   extension/ the VS Code client: protocol only; never daemon internals
//   daemon/    never the extension or webviews
//   daemon/src/cli/  a client like any editor: schemas/ (src and node) and its own folder only
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns, paths = []) => ({
  'no-restricted-imports': ['error', { patterns, paths }],
});
const nodeBuiltins = [{ group: ['node:*'], message: 'This folder runs outside Node.' }];
const noDaemonInternals = (depth) => ({
  // From daemon/src/cli at `depth` folders below it: only its own folder, schemas/ and package.json.
  regex: `^\\.\\./${'\\.\\./'.repeat(depth)}(?!\\.\\./\\.\\./(schemas/(src|node)/|package\\.json$))`,
  message: 'The CLI is a client: it reaches the daemon through schemas/ (the protocol and schemas/node) only, never daemon internals.',
});
const daemonKnowsNoEditor = { group: ['vscode', '**/extension/**', '**/webviews/**'], message: 'The daemon knows no editor.' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'examples/**', 'out/**', 'test-results/**', '**/*.d.ts', 'schemas/openrpc.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', Buffer: 'readonly', __dirname: 'readonly', performance: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-empty-object-type': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['schemas/src/**/*.ts'],
    rules: restrict([
      ...nodeBuiltins,
      { group: ['vscode', '**/daemon/**', '**/extension/**', '**/webviews/**'], message: 'schemas/ is the protocol alone.' },
      { regex: '^\\.\\./node/', message: 'schemas/src runs outside Node; schemas/node builds on it, not the reverse.' },
    ]),
  },
  {
    files: ['schemas/node/**/*.ts'],
    rules: restrict([
      { regex: '^(?!node:|\\.)', message: 'schemas/node is the client contract: Node built-ins and schemas/src only, no package.' },
      { group: ['vscode', '**/daemon/**', '**/extension/**', '**/webviews/**'], message: 'schemas/node is the client contract alone.' },
    ]),
  },
  {
    files: ['webviews/src/**/*.ts'],
    rules: restrict([
      ...nodeBuiltins,
      { group: ['vscode', '**/daemon/**', '**/extension/**', '**/schemas/node/**'], message: 'Webviews talk to the extension by messages and import protocol types only.' },
    ]),
  },
  {
    files: ['extension/src/**/*.ts'],
    rules: restrict([{ group: ['**/daemon/**', '**/webviews/**'], message: 'The extension reaches the daemon through the protocol only (schemas/).' }]),
  },
  {
    files: ['daemon/src/**/*.ts'],
    rules: restrict([daemonKnowsNoEditor]),
  },
  {
    files: ['daemon/src/cli/*.ts'],
    rules: restrict([daemonKnowsNoEditor, noDaemonInternals(0)]),
  },
  {
    files: ['daemon/src/cli/commands/*.ts'],
    rules: restrict([daemonKnowsNoEditor, noDaemonInternals(1)]),
  },
);
