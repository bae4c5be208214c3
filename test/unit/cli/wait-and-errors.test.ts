/** When `wait` is satisfied, and how every failure becomes one line and an exit code. */
import { describe, expect, it } from 'vitest';
import { containerRef } from '../../../daemon/src/cli/commands/containers';
import { pending, servedService } from '../../../daemon/src/cli/commands/wait';
import { CliError, ExitCode, UsageError, describeError } from '../../../daemon/src/cli/errors';
import { ProtocolError } from '../../../schemas/src/client';
import type { Result } from '../../../schemas/src/index';

type Container = Result<'container/list'>['containers'][number];
const container = (fields: Partial<Container>): Container =>
  ({ id: 'c', name: 'sandbox-qa1-account', image: 'i', state: 'running', status: 'Up', ports: [], labels: {}, created: '2024-05-01T12:00:00Z', ...fields }) as Container;

describe('wait conditions', () => {
  it('healthy: running, and healthy when it has a health check', () => {
    expect(pending('healthy', 'account', undefined)).toBe('account: no container');
    expect(pending('healthy', 'account', container({ state: 'restarting' }))).toBe('account: restarting');
    expect(pending('healthy', 'account', container({ health: 'starting' }))).toBe('account: starting');
    expect(pending('healthy', 'account', container({ health: 'healthy' }))).toBeUndefined();
    expect(pending('healthy', 'account', container({}))).toBeUndefined();
  });

  it('running: health checks do not matter', () => {
    expect(pending('running', 'account', container({ health: 'unhealthy' }))).toBeUndefined();
  });

  it('a service is known by its serving container: sandbox-S_SERVICE, or the old sandbox-S-SERVICE labelled for S', () => {
    expect(servedService('ho1', { name: 'sandbox-ho1_x-web' })).toBe('x-web');
    // Another sandbox whose name starts the same, and a deployment's container before it serves.
    expect(servedService('ho1', { name: 'sandbox-ho1-x_web' })).toBeUndefined();
    expect(servedService('ho1', { name: 'sandbox-ho1_x-web_0a1b2c3d' })).toBeUndefined();
    expect(servedService('ho1', { name: 'sandbox-ho1-web', sandbox: 'ho1' })).toBe('web');
    expect(servedService('ho1', { name: 'sandbox-ho1-x-web', sandbox: 'ho1-x' })).toBeUndefined();
  });

  it('--sandbox S SERVICE names the serving container', () => {
    expect(containerRef('web', 'ho1-x')).toBe('sandbox-ho1-x_web');
    expect(containerRef('sandbox-ho1-x_web', 'ho1-x')).toBe('sandbox-ho1-x_web');
    expect(containerRef('3f9a1b2c3d4e', undefined)).toBe('3f9a1b2c3d4e');
  });
});

describe('errors', () => {
  it('an error answer: its stable name and message, exit 1', () => {
    expect(describeError(new ProtocolError(1001, 'No sandbox "qa9"', { name: 'SandboxNotFound' }))).toEqual({
      line: 'branchbox: SandboxNotFound: No sandbox "qa9"',
      exitCode: ExitCode.Failed,
    });
    // protocol errors answered before a handler runs carry no data.name: the code names them
    expect(describeError(new ProtocolError(-32602, 'Invalid params for x: /a must be boolean', { violations: [] })).line).toBe(
      'branchbox: InvalidParams: Invalid params for x: /a must be boolean',
    );
    expect(describeError(new ProtocolError(4242, 'odd', undefined)).line).toBe('branchbox: Error4242: odd');
  });

  it('multi-line messages (build output) stay on one line', () => {
    expect(describeError(new ProtocolError(1401, 'build failed:\nStep 3/4 : RUN false\n\nexit 1', undefined)).line).toBe(
      'branchbox: BuildFailed: build failed: | Step 3/4 : RUN false | exit 1',
    );
  });

  it('a cancelled request is an interruption (130)', () => {
    expect(describeError(new ProtocolError(-32800, 'Request cancelled', { name: 'RequestCancelled' })).exitCode).toBe(130);
  });

  it('CLI errors keep their exit code; anything else is an internal error', () => {
    expect(describeError(new UsageError('missing NAME'))).toEqual({ line: 'branchbox: UsageError: missing NAME', exitCode: 2 });
    expect(describeError(new CliError('Timeout', 'sandbox qa1 is not healthy after 5m', ExitCode.Failed)).exitCode).toBe(1);
    expect(describeError(new Error('boom'))).toEqual({ line: 'branchbox: InternalError: boom', exitCode: 1 });
  });
});
