/**
 * Deploy Current Branch and host build commands (extension/src/deploy-command.ts
 * `startTrusting`, failure.ts): when deploy/start answers Untrusted, the user is asked once in
 * a modal that shows the exact command; "Trust and Deploy" grants each command and starts
 * again, anything else grants nothing and deploys nothing. Against a scripted daemon.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BranchboxClient } from '../../../schemas/src/client';
import { errorTable } from '../../../schemas/src/errors';
import type { Connected } from '../../../extension/src/connection';
import { DisposableStore } from '../../../extension/src/lifetime';
import * as fake from './fake-vscode';

vi.mock('vscode', () => import('./fake-vscode'));
const { startTrusting } = await import('../../../extension/src/deploy-command');
const { explainFailure, untrustedOf } = await import('../../../extension/src/failure');

const UNTRUSTED = {
  repoPath: '/home/ann/shop',
  commands: [{ service: 'tool', context: 'services/tool', command: ['go', 'build', '-o', 'bin/my worker', '.'] }],
};
const PARAMS = { repoPath: '/home/ann/shop', ref: 'feature/x', sandbox: 'qa', services: ['tool', 'web'] };

/** A daemon that answers deploy/start with Untrusted until trust/grant was called for every command (or `always`). */
function daemon(opts: { always?: boolean; other?: boolean } = {}) {
  const requests: { method: string; params: unknown }[] = [];
  let granted = 0;
  const client: BranchboxClient = new BranchboxClient((text) => {
    const r = JSON.parse(text) as { id: number; method: string; params: unknown };
    requests.push({ method: r.method, params: r.params });
    queueMicrotask(() => {
      let answer: object;
      if (r.method === 'trust/grant') {
        granted++;
        answer = { result: { id: granted, ...(r.params as object), grantedAt: '2030-01-01T00:00:00.000Z' } };
      } else if (opts.other) {
        answer = { error: { code: errorTable.SandboxNotFound.code, message: 'No sandbox "qa"', data: { name: 'SandboxNotFound' } } };
      } else if (opts.always || granted < UNTRUSTED.commands.length) {
        answer = { error: { code: errorTable.Untrusted.code, message: 'not trusted', data: { name: 'Untrusted', ...UNTRUSTED } } };
      } else {
        answer = { result: { deployments: [{ id: 'd1', service: 'tool' }, { id: 'd2', service: 'web' }] } };
      }
      client.receive(JSON.stringify({ jsonrpc: '2.0', id: r.id, ...answer }));
    });
  });
  const connected: Connected = {
    client,
    endpoint: { url: 'ws://127.0.0.1:47815', token: 't', pid: 4242 },
    serverInfo: { name: 'branchboxd', version: '0.1.0' },
    protocolVersion: '1.0.0',
    capabilities: { methods: [], notifications: [], docker: true },
    scope: new DisposableStore(),
    generation: 1,
  };
  return { connected, requests };
}

const log = { info: vi.fn() };

afterEach(() => {
  fake.ui.respond = undefined;
  fake.ui.prompts.length = 0;
});

describe('deploying a branch whose host build command is not trusted', () => {
  it('asks once in a modal showing the command; Trust and Deploy grants it and deploys', async () => {
    const d = daemon();
    fake.ui.respond = (p) => (p.kind === 'message' ? 'Trust and Deploy' : undefined);
    const started = await startTrusting(d.connected, log, PARAMS);
    expect(started).toEqual({ deployments: [{ id: 'd1', service: 'tool' }, { id: 'd2', service: 'web' }] });
    expect(fake.ui.prompts).toHaveLength(1);
    const prompt = fake.ui.prompts[0]!;
    expect(prompt).toMatchObject({ kind: 'message', severity: 'warning', modal: true, items: ['Trust and Deploy'], message: 'Run this build command on your computer?' });
    const detail = (fake.created.messages.at(-1)!.items[0] as { detail: string }).detail;
    expect(detail).toContain("tool: go build -o 'bin/my worker' .\n(in services/tool)");
    expect(detail).toContain('/home/ann/shop asks to run, outside any container and as you');
    expect(d.requests.map((r) => r.method)).toEqual(['deploy/start', 'trust/grant', 'deploy/start']);
    expect(d.requests[1]!.params).toEqual({ repoPath: '/home/ann/shop', context: 'services/tool', command: ['go', 'build', '-o', 'bin/my worker', '.'] });
    expect(d.requests[2]!.params).toEqual(PARAMS);
  });

  it('grants nothing and deploys nothing when the user cancels', async () => {
    const d = daemon();
    expect(await startTrusting(d.connected, log, PARAMS)).toBeUndefined();
    expect(fake.ui.prompts).toHaveLength(1);
    expect(d.requests.map((r) => r.method)).toEqual(['deploy/start']);
  });

  it('asks only once: still untrusted after the grant is an error; other errors are not questions', async () => {
    const d = daemon({ always: true });
    fake.ui.respond = () => 'Trust and Deploy';
    const e = await startTrusting(d.connected, log, PARAMS).catch((err: unknown) => err);
    expect(untrustedOf(e)).toEqual(UNTRUSTED);
    expect(fake.ui.prompts).toHaveLength(1);
    expect(explainFailure('Deploy feature/x', e)).toEqual({ message: 'Deploy feature/x failed: not trusted', actions: ['Show Extension Log'] });

    const other = daemon({ other: true });
    const notFound = await startTrusting(other.connected, log, PARAMS).catch((err: unknown) => err);
    expect(untrustedOf(notFound)).toBeUndefined();
    expect(fake.ui.prompts).toHaveLength(1);
  });
});
