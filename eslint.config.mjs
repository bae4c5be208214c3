// Lint rules, and the folder boundaries of the design (STYLE.md 8):
//   schemas/   pure protocol declarations: no Node, no DOM, no other folder
//   webviews/  browser code: protocol types only; never vscode, Node or daemon code
//   extension/ the VS Code client: protocol only; never daemon internals
//   daemon/    never the extension or webviews
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns, paths = []) => ({
  'no-restricted-imports': ['error', { patterns, paths }],
});
const nodeBuiltins = [{ group: ['node:*'], message: 'This folder runs outside Node.' }];

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
    ]),
  },
  {
    files: ['webviews/src/**/*.ts'],
    rules: restrict([
      ...nodeBuiltins,
      { group: ['vscode', '**/daemon/**', '**/extension/**'], message: 'Webviews talk to the extension by messages and import protocol types only.' },
    ]),
  },
  {
    files: ['extension/src/**/*.ts'],
    rules: restrict([{ group: ['**/daemon/**', '**/webviews/**'], message: 'The extension reaches the daemon through the protocol only (schemas/).' }]),
  },
  {
    files: ['daemon/src/**/*.ts'],
    rules: restrict([{ group: ['vscode', '**/extension/**', '**/webviews/**'], message: 'The daemon knows no editor.' }]),
  },
);
