/**
 * A real git repository of a small two-service project, made fresh in a temporary folder for
 * deploy tests (and the sandbox and end-to-end tests): `branchbox.yaml` for project `shop`
 * with services `account` and `payment`, each a tiny Node HTTP server built with
 * `FROM branchbox/node:20`, and branches whose services behave differently:
 *
 * | branch          | GET /            | GET /healthz | build                          |
 * |-----------------|------------------|--------------|--------------------------------|
 * | `main`          | `main`           | 200          | ok                             |
 * | `feature/x`     | `feature/x`      | 200          | ok                             |
 * | `broken-health` | `broken-health`  | 500          | ok                             |
 * | `broken-build`  | —                | —            | `RUN false` fails              |
 * | `slow-build`    | `slow-build`     | 200          | `RUN` sleeps 120 s (to cancel) |
 * | `crash`         | —                | —            | ok; the server exits with 3    |
 * | `sick-on-demand`| `sick-on-demand` | 200; 500 once `/tmp/sick` exists in the container | ok |
 *
 * Each server also answers `GET /env/<KEY>` with that environment variable (to check what a
 * deployment injected) and prints one line at start, `<service> <branch> listening on 8080`
 * (and, when `ECHO_ENV=NAME` is set, `NAME=<its value>`, to check that secrets get masked).
 * Git runs with a configuration local to the repository (user, no signing, no hooks).
 * `main` is checked out at the end.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const FIXTURE_PROJECT = 'shop';
export const FIXTURE_SERVICES = ['account', 'payment'] as const;
export type FixtureService = (typeof FIXTURE_SERVICES)[number];
export const FIXTURE_BRANCHES = ['main', 'feature/x', 'broken-health', 'broken-build', 'slow-build', 'crash', 'sick-on-demand'] as const;
/** The port the fixture servers listen on inside their containers. */
export const FIXTURE_PORT = 8080;

export interface FixtureRepo {
  /** The repository root (real path). */
  readonly root: string;
  /** Random per repository: part of the slow build's RUN line, so no layer cache skips it. */
  readonly nonce: string;
  /** Runs git in the repository with arguments (no shell); answers stdout. */
  git(...args: string[]): string;
  /** The commit id a branch (or any revision) points at. */
  commitOf(rev: string): string;
  checkout(branch: string): void;
  /** Writes a file (relative to the root), creating folders. */
  write(path: string, content: string): void;
  /** Stages everything and commits; answers the new commit id. */
  commitAll(message: string): string;
  /** Removes the repository folder. */
  dispose(): void;
}

export interface FixtureOptions {
  /** The `project:` name (default `shop`); images are tagged `branchbox/<project>-<service>:<commit>`. */
  readonly project?: string;
  /** Health check timing written to branchbox.yaml. */
  readonly health?: { interval?: string; timeout?: string; retries?: number; startPeriod?: string };
}

export function createFixtureRepo(opts: FixtureOptions = {}): FixtureRepo {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'bb-fixture-')));
  const nonce = randomBytes(6).toString('hex');
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: root, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const write = (path: string, content: string) => {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  };
  const commitAll = (message: string) => {
    git('add', '--all');
    git('commit', '--quiet', '--no-verify', '-m', message);
    return git('rev-parse', 'HEAD').trim();
  };

  git('init', '--quiet', '--initial-branch=main');
  for (const [key, value] of [
    ['user.name', 'Branchbox Fixture'],
    ['user.email', 'fixture@branchbox.invalid'],
    ['commit.gpgsign', 'false'],
    ['core.hooksPath', '/dev/null'],
    ['init.defaultBranch', 'main'],
  ] as const) {
    git('config', '--local', key, value);
  }

  const health = { interval: '500ms', timeout: '2s', retries: 3, startPeriod: '2s', ...opts.health };
  write('branchbox.yaml', projectYaml(opts.project ?? FIXTURE_PROJECT, health));
  write('.gitignore', 'node_modules/\n*.log\n');
  // The nonce makes this repository's commits (and so its image tags) its own, even for two
  // fixtures made in the same second.
  write('README.md', `# shop\n\nA fixture project for Branchbox tests (fixture ${nonce}).\n`);
  for (const service of FIXTURE_SERVICES) {
    write(`services/${service}/server.js`, serverJs(service, { answer: 'main', healthStatus: 200 }));
    write(`services/${service}/Dockerfile`, dockerfile());
  }
  commitAll('shop: two services answering their branch');

  const branch = (name: string, change: () => void) => {
    git('checkout', '--quiet', '-b', name, 'main');
    change();
    commitAll(`${name}`);
  };
  branch('feature/x', () => {
    for (const s of FIXTURE_SERVICES) write(`services/${s}/server.js`, serverJs(s, { answer: 'feature/x', healthStatus: 200 }));
  });
  branch('broken-health', () => {
    for (const s of FIXTURE_SERVICES) write(`services/${s}/server.js`, serverJs(s, { answer: 'broken-health', healthStatus: 500 }));
  });
  branch('broken-build', () => {
    for (const s of FIXTURE_SERVICES) write(`services/${s}/Dockerfile`, dockerfile(['RUN echo "about to fail" && false']));
  });
  branch('slow-build', () => {
    for (const s of FIXTURE_SERVICES) {
      write(`services/${s}/server.js`, serverJs(s, { answer: 'slow-build', healthStatus: 200 }));
      write(`services/${s}/Dockerfile`, dockerfile([`RUN echo "slow build ${nonce} waiting" && sleep 120`]));
    }
  });
  branch('crash', () => {
    for (const s of FIXTURE_SERVICES) write(`services/${s}/server.js`, crashingServerJs(s));
  });
  // Health tests make it fail by writing /tmp/sick in the container (it survives restarts).
  branch('sick-on-demand', () => {
    for (const s of FIXTURE_SERVICES) {
      write(`services/${s}/server.js`, serverJs(s, { answer: 'sick-on-demand', healthStatus: 200 }).replace("if (req.url === '/healthz') {", "if (req.url === '/healthz' && require('node:fs').existsSync('/tmp/sick')) {\n    res.writeHead(500);\n    return res.end('sick on demand');\n  }\n  if (req.url === '/healthz') {"));
    }
  });
  git('checkout', '--quiet', 'main');

  return {
    root,
    nonce,
    git,
    commitOf: (rev) => git('rev-parse', '--verify', `${rev}^{commit}`).trim(),
    checkout: (b) => void git('checkout', '--quiet', b),
    write,
    commitAll,
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

function projectYaml(project: string, health: { interval: string; timeout: string; retries: number; startPeriod: string }): string {
  const service = (name: string) => `  ${name}:
    context: services/${name}
    build: { dockerfile: Dockerfile }
    port: ${FIXTURE_PORT}
    health: { path: /healthz, interval: ${health.interval}, timeout: ${health.timeout}, retries: ${health.retries}, startPeriod: ${health.startPeriod} }
    env: { SERVICE_NAME: ${name}, LOG_LEVEL: debug }
    resources: { cpus: 0.5, memory: 128m }
`;
  return `version: 1
project: ${project}
baseline:
  account: http://127.0.0.1:9101
  payment: http://127.0.0.1:9102
services:
${FIXTURE_SERVICES.map(service).join('')}routes:
  /account: account
  /payment: payment
templates:
  qa-default:
    services: { account: { branch: main } }
    ttl: 3d
`;
}

function dockerfile(extra: string[] = []): string {
  return ['FROM branchbox/node:20', 'COPY server.js /app/server.js', ...extra, 'USER 1000', `EXPOSE ${FIXTURE_PORT}`, 'CMD ["node", "/app/server.js"]', ''].join('\n');
}

function serverJs(service: string, o: { answer: string; healthStatus: number }): string {
  return `// ${service} on branch ${o.answer}
const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(${o.healthStatus}, { 'content-type': 'text/plain' });
    return res.end(${o.healthStatus === 200 ? "'ok'" : "'unhealthy on purpose'"});
  }
  if (req.url.startsWith('/env/')) {
    const value = process.env[decodeURIComponent(req.url.slice(5))];
    res.writeHead(value === undefined ? 404 : 200, { 'content-type': 'text/plain' });
    return res.end(value ?? '');
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'x-service': ${JSON.stringify(service)} });
  res.end(${JSON.stringify(o.answer)});
});
server.listen(${FIXTURE_PORT}, () => {
  console.log(${JSON.stringify(`${service} ${o.answer} listening on ${FIXTURE_PORT}`)});
  // ECHO_ENV=NAME prints that variable at start (tests check secrets are masked in logs).
  if (process.env.ECHO_ENV) console.log(process.env.ECHO_ENV + '=' + process.env[process.env.ECHO_ENV]);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
}

function crashingServerJs(service: string): string {
  return `// ${service} on branch crash
console.log('${service} crash: reading configuration');
console.error('fatal: configuration missing, giving up');
process.exit(3);
`;
}
