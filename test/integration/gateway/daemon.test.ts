/**
 * Gateways in a real branchboxd (dist/, built by scripts/test.sh), driven over the protocol:
 * a sandbox of the fixture repository gets its gateway on create and loses it on delete;
 * route/set flips under load through the daemon lose no request and land in the audit
 * trail; a 200 MiB upload through the daemon's gateway leaves its resident memory flat; and a
 * service deployed into the sandbox by the real pipeline answers through the gateway from its
 * container, with the commit in X-Branchbox-Route.
 */
import * as http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';
import { docker, testRun } from '../../helpers/docker-fixtures';
import { createFixtureRepo, type FixtureRepo } from '../../helpers/fixture-repo';
import { Cleanup, fetchText, loadWhileFlipping, startUpstream, type Upstream } from '../../unit/gateway/fixtures';
import { deployAndWait } from '../lifecycle/helpers';

const run = testRun('bbgw');
const cleanup = new Cleanup();
const perTest = new Cleanup();
afterEach(perTest.run);
const PROJECT = `gw${run.runId.slice(-8)}`;
afterAll(async () => {
  await cleanup.run();
  await run.cleanup();
  // Deploys tag images by project and commit, kept for reuse; this test's project is its own.
  const images = await docker.listImages({ filters: JSON.stringify({ label: [`branchbox.project=${PROJECT}`] }) });
  await Promise.all(images.map((image) => docker.getImage(image.Id).remove({ force: true }).catch(() => undefined)));
});

let daemon: TestDaemon;
let client: TestClient;
let repo: FixtureRepo;
let baseline: Upstream;
let ext: Upstream;

beforeAll(async () => {
  baseline = await startUpstream(cleanup, 'baseline');
  ext = await startUpstream(cleanup, 'ext');
  repo = createFixtureRepo({ project: PROJECT });
  cleanup.add(() => repo.dispose());
  // Point the project's baseline at this test's server (the working tree's file is what the gateway reads).
  const file = `${repo.root}/branchbox.yaml`;
  writeFileSync(file, readFileSync(file, 'utf8').replace('http://127.0.0.1:9101', baseline.url).replace('http://127.0.0.1:9102', `${baseline.url}/pay`));
  daemon = await startTestDaemon({
    env: { BRANCHBOX_GATEWAY_PORT: '0', BRANCHBOX_EXTRA_LABELS: `branchbox.test=${run.runId}` },
  });
  cleanup.add(() => daemon.dispose());
  client = await daemon.connect('gateway-test');
  cleanup.add(() => client.closeSocket());
});

async function createSandbox(name: string): Promise<string> {
  await client.request('sandbox/create', { name, repoPath: repo.root });
  perTest.add(() => client.request('sandbox/delete', { name }).catch(() => undefined));
  const info = await client.request('gateway/info', { sandbox: name });
  const url = info.sandboxes[0]?.gateway?.url;
  expect(url, JSON.stringify(info)).toBeDefined();
  return url!;
}

/** Resident memory of a process from /proc: the current value and the peak since `resetPeak`. */
function rssOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

describe('a sandbox gateway in the daemon', () => {
  it('opens on sandbox/create, routes to baseline until deployed, and closes on sandbox/delete', async () => {
    const name = `${run.runId}-a`.slice(0, 40);
    const url = await createSandbox(name);
    const info = await client.request('gateway/info', {});
    expect(info.shared?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const sandbox = await client.request('sandbox/get', { name });
    expect(sandbox.ports.filter((p) => p.purpose === 'gateway').map((p) => p.port)).toEqual([Number(new URL(url).port)]);

    const answer = await fetchText(`${url}/account/x`);
    expect(answer.status).toBe(200);
    expect(answer.headers['x-upstream']).toBe('baseline');
    expect(answer.headers['x-branchbox-route']).toBe('account -> baseline');
    const explained = await client.request('route/explain', { sandbox: name, path: '/account/x' });
    expect(explained.reason).toBe(`/account/x matched route /account → account; account is not deployed in sandbox ${name} → baseline ${baseline.url}`);

    // Through the shared gateway, selected by header.
    const shared = await fetchText(`${info.shared!.url}/payment/1`, { headers: { 'X-Branchbox-Sandbox': name } });
    expect(shared.headers['x-branchbox-route']).toBe('payment -> baseline');
    expect(JSON.parse(shared.body)).toMatchObject({ upstream: 'baseline', url: '/pay/payment/1' });

    await client.request('sandbox/delete', { name });
    await expect(fetchText(`${url}/account/x`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await client.request('gateway/info', {})).sandboxes.find((s) => s.sandbox === name)).toBeUndefined();
  });

  it('loses no request while route/set flips under load, and audits every flip', async () => {
    const name = `${run.runId}-b`.slice(0, 40);
    const url = await createSandbox(name);
    const TOTAL = 2_000;
    const { counts, failures, flips } = await loadWhileFlipping(perTest, url, {
      total: TOTAL,
      concurrency: 20,
      flipEvery: 50,
      flip: (n) =>
        client.request('route/set', n % 2 ? { sandbox: name, service: 'account', kind: 'url', url: ext.url } : { sandbox: name, service: 'account', kind: 'baseline' }),
    });
    expect(failures).toEqual([]);
    expect(Object.keys(counts).sort()).toEqual(['baseline', 'ext']);
    expect(counts.baseline! + counts.ext!).toBe(TOTAL);

    const { entries } = await client.request('audit/list', { method: 'route/set', target: `sandbox=${name}`, limit: 10_000 });
    const mine = entries.filter((r) => r.method === 'route/set' && r.target === `sandbox=${name} service=account`);
    expect(mine).toHaveLength(flips);
    expect(mine.every((r) => r.outcome === 'ok' && r.client === 'gateway-test')).toBe(true);
    const rejected = await client.request('route/set', { sandbox: name, service: 'account', kind: 'url' }).catch((e: unknown) => e);
    expect(rejected).toMatchObject({ code: -32602 });
  });

  it("streams a 200 MiB upload with the daemon's memory flat", async () => {
    const name = `${run.runId}-c`.slice(0, 40);
    const url = await createSandbox(name);
    let received = 0;
    const sink = await startUpstream(perTest, 'sink', (req, res) => {
      req.on('data', (c: Buffer) => (received += c.length));
      req.on('end', () => res.end(String(received)));
    });
    await client.request('route/set', { sandbox: name, service: 'account', kind: 'url', url: sink.url });
    const SIZE = 200 * 1024 * 1024;
    const pid = daemon.runtime.pid;
    // Reset the peak (VmHWM) so it measures this upload only (root may; otherwise it is the peak since start).
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      /* the peak since start is still an upper bound */
    }
    const before = rssOf(pid).rss;
    const chunk = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= SIZE) return void this.push(null);
        sent += chunk.length;
        this.push(chunk);
      },
    });
    const answer = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${url}/account/upload`, { method: 'POST', agent: false, headers: { 'content-length': SIZE } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      pipeline(body, req).catch(reject);
    });
    expect(Number(answer)).toBe(SIZE);
    const growth = rssOf(pid).peak - before;
    expect(growth, `daemon peak RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(64 * 2 ** 20);
  });

  it('routes to the container the deploy pipeline started, naming its commit', async () => {
    const name = `${run.runId}-d`.slice(0, 40);
    const url = await createSandbox(name);
    await deployAndWait(client, { repoPath: repo.root, ref: 'feature/x', sandbox: name, services: ['account'] });
    const commit = repo.commitOf('feature/x');

    const answer = await fetchText(`${url}/account/anything`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('feature/x');
    expect(answer.headers['x-service']).toBe('account');
    expect(answer.headers['x-branchbox-route']).toBe(`account -> sandbox (${commit.slice(0, 7)})`);
    const explained = await client.request('route/explain', { sandbox: name, path: '/account/anything' });
    expect(explained.routeHeader).toBe(answer.headers['x-branchbox-route']);
    expect(explained.commit).toBe(commit);
    // payment is not deployed: baseline.
    expect((await fetchText(`${url}/payment`)).headers['x-upstream']).toBe('baseline');
    // Routed to baseline, the deployed account leaves the container.
    await client.request('route/set', { sandbox: name, service: 'account', kind: 'baseline' });
    expect((await fetchText(`${url}/account/anything`)).headers['x-upstream']).toBe('baseline');
    const list = await client.request('route/list', { sandbox: name });
    expect(list.services.find((s) => s.service === 'account')).toMatchObject({ kind: 'baseline', deployed: true, commit });
  });
});
