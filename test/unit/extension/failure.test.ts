/** What a failed command tells the user (extension/src/failure.ts), per protocol error. */
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../schemas/src/client';
import { errorTable } from '../../../schemas/src/errors';
import { NotConnectedError, explainFailure } from '../../../extension/src/failure';

const error = (name: keyof typeof errorTable, message: string) => new ProtocolError(errorTable[name].code, message, undefined);

describe('explainFailure', () => {
  it('says what failed, why, and what to do, with follow-up actions', () => {
    expect(explainFailure('Stop container web', error('DockerUnavailable', 'connect ENOENT /var/run/docker.sock'))).toEqual({
      message:
        'Stop container web failed: Docker is not available (connect ENOENT /var/run/docker.sock). Start Docker, or set "branchbox.docker.host" and restart the daemon.',
      actions: ['Show Daemon Log', 'Restart Daemon'],
    });
    expect(explainFailure('Start container web', error('ContainerNotFound', 'No such container: web'))).toEqual({
      message: 'Start container web failed: the container no longer exists.',
      actions: [],
    });
    expect(explainFailure('Attach shell', error('MethodNotFound', 'Method not found: container/exec'))!.message).toBe(
      'Attach shell is not supported by this branchboxd (Method not found: container/exec); restart the daemon so it runs the version bundled with the extension.',
    );
    expect(explainFailure('Remove container', error('InternalError', 'database is locked.'))).toEqual({
      message: 'Remove container failed inside branchboxd: database is locked. See the daemon log.',
      actions: ['Show Daemon Log'],
    });
    expect(explainFailure('Restart container', error('Conflict', 'is paused'))!.message).toBe('Restart container failed: is paused (Conflict).');
    // Terminal escapes in what the daemon or Docker said never reach a toast.
    expect(explainFailure('Deploy', error('DockerError', '\u001b[91mno space left\u001b[0m\non device'))!.message).toBe(
      'Deploy failed: the Docker engine refused (no space left on device).',
    );
    expect(explainFailure('Deploy', new Error('\u001b[31mboom\u001b[0m'))!.message).toBe('Deploy failed: boom');
  });

  it('says nothing when the user cancelled', () => {
    expect(explainFailure('Stop container', error('RequestCancelled', 'cancelled'))).toBeUndefined();
  });

  it('explains a lost connection and a missing daemon', () => {
    expect(explainFailure('Stop container', new ProtocolError(0, 'The connection to branchboxd closed (socket closed (1006)).', undefined))).toEqual({
      message: 'Stop container failed: The connection to branchboxd closed (socket closed (1006)). Branchbox reconnects by itself; try again in a moment.',
      actions: ['Show Extension Log'],
    });
    expect(explainFailure('Stop container', new NotConnectedError('Still connecting to branchboxd.'))).toEqual({
      message: 'Stop container: Branchbox is not connected to its daemon (Still connecting to branchboxd.).',
      actions: ['Restart Daemon', 'Show Extension Log'],
    });
    expect(explainFailure('Show daemon log', new Error('ENOENT: no such file'))).toEqual({
      message: 'Show daemon log failed: ENOENT: no such file',
      actions: ['Show Extension Log'],
    });
  });
});
