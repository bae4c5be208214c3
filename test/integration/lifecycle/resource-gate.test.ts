/**
 * Resource gating through the protocol: deploy/start answers ResourceLimit (1403) before
 * anything is queued when the fixture's services (0.5 CPU, 128 MiB each) would exceed the
 * daemon's per-sandbox limit (--sandbox-memory 200m here) or the sandbox's own per-container
 * resources.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../schemas/src/client';
import type { TestClient } from '../../helpers/daemon';
import type { FixtureRepo } from '../../helpers/fixture-repo';
import { useLifecycleDaemon } from './helpers';

const t = useLifecycleDaemon('bblcg', 'gate-test', {
  BRANCHBOX_SANDBOX_MEMORY: '200m',
});
const { suffix, created } = t;
let client: TestClient;
let repo: FixtureRepo;

beforeAll(async () => {
  ({ client, repo } = t);
});

async function refusal(promise: Promise<unknown>): Promise<ProtocolError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ProtocolError);
  return e as ProtocolError;
}

describe('resource gating', () => {
  it('refuses a deploy beyond the per-sandbox memory limit, queueing nothing', async () => {
    const name = `l${suffix}-mem`;
    created.add(name);
    await client.request('sandbox/create', { name, repoPath: repo.root });
    const e = await refusal(
      client.request('deploy/start', { repoPath: repo.root, sandbox: name, services: ['account', 'payment'] }),
    );
    expect(e.code).toBe(1403);
    expect(e.message).toMatch(
      /would use 256 MiB of memory \(account 128 MiB \+ payment 128 MiB\), above the sandbox limit of 200 MiB/,
    );
    expect((await client.request('deploy/list', { sandbox: name })).deployments).toEqual([]);
  });

  it('refuses a service without resources.memory: with a sandbox memory limit it cannot be counted as free', async () => {
    const name = `l${suffix}-free`;
    created.add(name);
    await client.request('sandbox/create', { name, repoPath: repo.root });
    const file = `${repo.root}/branchbox.yaml`;
    const { readFileSync, writeFileSync } = await import('node:fs');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('services:\n', 'services:\n  free:\n    context: services/account\n    port: 8080\n'));
    try {
      const e = await refusal(client.request('deploy/start', { repoPath: repo.root, sandbox: name, services: ['account', 'free'], includeUncommitted: true }));
      expect(e.code).toBe(1403);
      expect(e.message).toBe(
        `Deploying account, free into sandbox ${name}: service free sets no resources.memory, so the sandbox limit of 200 MiB cannot be kept; set resources.memory in branchbox.yaml or unset --sandbox-memory.`,
      );
      expect((await client.request('deploy/list', { sandbox: name })).deployments).toEqual([]);
    } finally {
      writeFileSync(file, original);
    }
  });

  it("refuses a service above the sandbox's per-container resources", async () => {
    const name = `l${suffix}-box`;
    created.add(name);
    await client.request('sandbox/create', { name, repoPath: repo.root, resources: { memoryBytes: 64 * 2 ** 20 } });
    const e = await refusal(
      client.request('deploy/start', { repoPath: repo.root, sandbox: name, services: ['account'] }),
    );
    expect(e.code).toBe(1403);
    expect(e.message).toMatch(
      /Service account asks for 128 MiB, above the limit of sandbox .* per container \(64 MiB\)/,
    );
  });
});
