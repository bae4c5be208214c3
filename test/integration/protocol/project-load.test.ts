/**
 * `project/load` of project files built to hurt, on a real branchboxd (dist/): a YAML alias
 * bomb answered InternalError; a file of thousands of services stalled the event loop of every
 * connection while it was parsed. Now each is a ConfigInvalid naming the file, the line and
 * the limit, and a file up to the limits is read on a worker thread while the other clients
 * are served: a second connection's pings are answered during the load (the latencies are
 * printed).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_FILE_LIMITS } from '../../../schemas/src/limits';
import { failure, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';

let daemon: TestDaemon;
let loader: TestClient;
let pinger: TestClient;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-project-load-'));

beforeAll(async () => {
  daemon = await startTestDaemon();
  loader = await daemon.connect('loader');
  pinger = await daemon.connect('pinger');
});
afterAll(async () => {
  await loader?.closeSocket();
  await pinger?.closeSocket();
  await daemon?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function repo(name: string, text: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'branchbox.yaml'), text);
  return dir;
}

/** The largest project the limits allow: every service, each with as many env entries as the size limit leaves room for. */
function largestAllowed(): string {
  const services = PROJECT_FILE_LIMITS.maxServices;
  const head = 'version: 1\nproject: largest\nservices:\n';
  const service = (i: number, entries: number) =>
    `  s${i}:\n    context: services/s${i}\n    build: { dockerfile: Dockerfile }\n    port: 8080\n` +
    `    health: { path: /healthz, interval: 5s, timeout: 2s, retries: 3 }\n    env:\n` +
    Array.from({ length: entries }, (_, j) => `      KEY_${j}: value-${i}-${j}\n`).join('');
  let entries = 1;
  const size = (n: number) => Buffer.byteLength(head + Array.from({ length: services }, (_, i) => service(i, n)).join(''));
  while (entries < PROJECT_FILE_LIMITS.maxEntries && size(entries + 1) <= PROJECT_FILE_LIMITS.maxBytes) entries++;
  return head + Array.from({ length: services }, (_, i) => service(i, entries)).join('');
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

describe('project/load of hostile and huge project files', () => {
  it('a YAML alias bomb is ConfigInvalid with file and line, not InternalError', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].entries()) {
      levels.push(`${name}: &${name} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`);
    }
    const dir = repo('bomb', `version: 1\nproject: bomb\nservices:\n  web:\n    port: 1\n    env:\n${levels.map((l) => `      ${l}\n`).join('')}`);
    const e = await failure(loader.request('project/load', { path: dir }));
    expect(e).toMatchObject({ code: 1501, errorName: 'ConfigInvalid' });
    expect(e.message).toMatch(/^branchbox\.yaml:\d+:\d+: aliases repeat the content of anchor/);
    expect(e.data).toMatchObject({ errors: [{ file: path.join(dir, 'branchbox.yaml'), line: expect.any(Number) }] });
  });

  it('a file over the size limit is refused before it is read, naming the file and the limit', async () => {
    const dir = repo('huge', 'version: 1\n');
    fs.truncateSync(path.join(dir, 'branchbox.yaml'), 8 * 1024 ** 3); // sparse
    const e = await failure(loader.request('project/load', { path: dir }));
    expect(e).toMatchObject({ errorName: 'ConfigInvalid' });
    expect(e.message).toBe(
      `branchbox.yaml:1:1: the file is ${8 * 1024 ** 3} bytes, more than the ${PROJECT_FILE_LIMITS.maxBytes} allowed`,
    );
  });

  it('more services than allowed is ConfigInvalid naming the limit', async () => {
    const n = PROJECT_FILE_LIMITS.maxServices + 1;
    const services = Array.from({ length: n }, (_, i) => `  s${i}:\n    port: 8080\n`).join('');
    const e = await failure(loader.request('project/load', { path: repo('many', `version: 1\nproject: many\nservices:\n${services}`) }));
    expect(e.message).toBe(`branchbox.yaml:3:1: services has ${n} entries, more than the ${PROJECT_FILE_LIMITS.maxServices} allowed`);
  });

  it('while the largest allowed file loads, another connection keeps being answered', async () => {
    const text = largestAllowed();
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(PROJECT_FILE_LIMITS.maxBytes);
    const dir = repo('largest', text);
    await pinger.request('system/info'); // both connections warm

    const latencies: number[] = [];
    let loaded = false;
    const started = performance.now();
    const load = loader.request('project/load', { path: dir }).finally(() => (loaded = true));
    while (!loaded) {
      const t = performance.now();
      await pinger.request('system/info');
      if (!loaded) latencies.push(performance.now() - t);
    }
    const project = await load;
    const loadMs = performance.now() - started;
    expect(Object.keys(project.services)).toHaveLength(PROJECT_FILE_LIMITS.maxServices);

    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      `project/load of ${Buffer.byteLength(text)} bytes, ${PROJECT_FILE_LIMITS.maxServices} services: ${loadMs.toFixed(0)} ms; ` +
        `${sorted.length} system/info answered meanwhile on another connection: ` +
        `p50 ${percentile(sorted, 50)?.toFixed(1)} ms, p99 ${percentile(sorted, 99)?.toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms`,
    );
    // Parsed on the daemon's own thread, the load holds every other request until it is done.
    expect(sorted.length).toBeGreaterThanOrEqual(10);
  });
});
