/**
 * The project of the watch benchmark, a real git repository in a temporary folder:
 *
 * | service | image                       | answers                                           | watch rule                                    |
 * |---------|-----------------------------|---------------------------------------------------|-----------------------------------------------|
 * | `web`   | busybox `httpd` (static)    | /web/index.html: the file web/public/index.html   | `sync` web/public → /srv/web                  |
 * | `api`   | node, its source in /app    | /api: the string in api/server.js (`ANSWER`)      | `sync+restart` api/server.js → /app/server.js |
 *
 * routed by the sandbox's gateway (`/web` → web, `/api` → api), each with a plain
 * `health: { path: /healthz }`. {@link addBigTree} then adds a tree of many small committed
 * files and an ignored node_modules folder, for the watcher's cost on a large working tree.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface WatchCase {
  readonly service: 'web' | 'api';
  readonly action: 'sync' | 'sync+restart';
  /** The file changed, relative to the repository root. */
  readonly file: string;
  /** Where the rule puts it in the container. */
  readonly target: string;
  /** The gateway path that answers it. */
  readonly path: string;
  /** The file's text for an answer. */
  source(answer: string): string;
}

export const STATIC_CASE: WatchCase = {
  service: 'web',
  action: 'sync',
  file: 'web/public/index.html',
  target: '/srv/web/index.html',
  path: '/web/index.html',
  source: (answer) => answer,
};

export const NODE_CASE: WatchCase = {
  service: 'api',
  action: 'sync+restart',
  file: 'api/server.js',
  target: '/app/server.js',
  path: '/api',
  source: (answer) => nodeServer(answer),
};

export interface WatchRepo {
  readonly root: string;
  write(path: string, content: string): void;
  /** Stages everything and commits; answers the new commit id. */
  commitAll(message: string): string;
  dispose(): void;
}

/** A fresh repository of the project `project` in a new folder under `parent`, each service answering `initial` (committed). */
export function createWatchRepo(project: string, initial: string, parent = tmpdir()): WatchRepo {
  const root = realpathSync(mkdtempSync(join(parent, 'bb-watch-bench-')));
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: root, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  const write = (path: string, content: string) => {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  };
  git('init', '--quiet', '--initial-branch=main');
  for (const [key, value] of [
    ['user.name', 'Branchbox Bench'],
    ['user.email', 'bench@branchbox.invalid'],
    ['commit.gpgsign', 'false'],
    ['core.hooksPath', '/dev/null'],
    // No `gc --auto` in the background after the big tree's commit (30 000 loose objects): it
    // would load the machine while the bench measures, and write in .git while it is removed.
    ['gc.auto', '0'],
  ] as const)
    git('config', '--local', key, value);

  write('branchbox.yaml', projectYaml(project));
  write('.gitignore', 'node_modules/\n');
  // httpd as PID 1 would ignore SIGTERM, and every stop of the container would wait docker's 10 s.
  write('web/Dockerfile', ['FROM branchbox/busybox:1', 'COPY healthz /srv/healthz', 'COPY public /srv/web', 'USER 1000', 'EXPOSE 8080', `CMD ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 8080 -h /srv & wait"]`, ''].join('\n'));
  write('web/healthz', 'ok\n');
  write(STATIC_CASE.file, STATIC_CASE.source(initial));
  write('api/Dockerfile', ['FROM branchbox/node:20', 'COPY server.js /app/server.js', 'USER 1000', 'EXPOSE 8080', 'CMD ["node", "/app/server.js"]', ''].join('\n'));
  write(NODE_CASE.file, NODE_CASE.source(initial));
  const commitAll = (message: string) => {
    git('add', '--all');
    git('commit', '--quiet', '--no-verify', '-m', message);
    return git('rev-parse', 'HEAD').trim();
  };
  commitAll('watch bench: a static web service and a node api');
  return { root, write, commitAll, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * Adds `files` small files under tree/ (100 a folder) and `ignored` under node_modules/ (which
 * .gitignore excludes; 100 a package folder). Only writes them: the caller commits.
 */
export function addBigTree(repo: WatchRepo, files: number, ignored: number): void {
  for (let i = 0; i < files; i++) repo.write(`tree/d${Math.floor(i / 100)}/f${i}.txt`, `file ${i}\n`);
  for (let i = 0; i < ignored; i++) repo.write(`node_modules/pkg${Math.floor(i / 100)}/f${i}.js`, `module.exports = ${i};\n`);
}

function projectYaml(project: string): string {
  return `version: 1
project: ${project}
services:
  web:
    context: web
    build: { dockerfile: Dockerfile }
    port: 8080
    health: { path: /healthz }
    watch:
      - { action: sync, path: web/public, target: /srv/web }
  api:
    context: api
    build: { dockerfile: Dockerfile }
    port: 8080
    health: { path: /healthz }
    watch:
      - { action: sync+restart, path: ${NODE_CASE.file}, target: ${NODE_CASE.target} }
routes:
  /web: web
  /api: api
`;
}

/** A node server answering `answer` (its own source holds it), `ok` on /healthz. */
function nodeServer(answer: string): string {
  return `const ANSWER = ${JSON.stringify(answer)};
const server = require('node:http').createServer((req, res) => res.end(req.url === '/healthz' ? 'ok' : ANSWER));
server.listen(8080);
process.on('SIGTERM', () => process.exit(0));
`;
}
