// One build for every program Branchbox ships: the VS Code extension, the daemon (branchboxd),
// the CLI and the webview panels. `--production` minifies and drops sourcemaps; `--watch`
// rebuilds on change.
import * as esbuild from 'esbuild';
import { mkdirSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

// Native or optional modules are loaded from node_modules at run time, never bundled:
// better-sqlite3 is compiled for the system Node; @parcel/watcher (watch mode) picks its prebuilt
// binary package for the platform (@parcel/watcher-linux-x64-glibc, …) by name at run time;
// ssh2's native helpers are optional.
const nodeExternals = ['better-sqlite3', '@parcel/watcher', 'cpu-features', '*.node'];

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: watch ? 'info' : 'warning',
  legalComments: 'none',
};

/** @type {esbuild.BuildOptions[]} */
const builds = [
  {
    ...common,
    entryPoints: { extension: 'extension/src/extension.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    outdir: 'dist',
  },
  {
    ...common,
    // project-worker: the worker thread that reads branchbox.yaml off the daemon's event loop.
    entryPoints: {
      branchboxd: 'daemon/src/main.ts',
      branchbox: 'daemon/src/cli/main.ts',
      'project-worker': 'daemon/src/project/project-worker.ts',
    },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: nodeExternals,
    outdir: 'dist',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...common,
    // A panel's imported CSS (uPlot's, for stats) comes out next to its script: stats.css.
    entryPoints: { logs: 'webviews/src/logs/main.ts', stats: 'webviews/src/stats/main.ts', deployment: 'webviews/src/deployment/main.ts' },
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    outdir: 'dist/webviews',
  },
];

mkdirSync('dist', { recursive: true });
if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('[esbuild] watching for changes');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
