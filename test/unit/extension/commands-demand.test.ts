/**
 * The command table's part in the daemon's first need (extension/src/commands.ts): a command
 * that uses the daemon starts the connection; one that never needs it (Show Extension Log)
 * does not.
 */
import { describe, expect, it, vi } from 'vitest';

vi.mock('vscode', () => import('./fake-vscode'));

const { registerCommands } = await import('../../../extension/src/commands');
const vscode = (await import('vscode')) as unknown as typeof import('./fake-vscode');

describe('registerCommands', () => {
  it('a command that uses the daemon starts the connection, one without it does not', async () => {
    const ran: string[] = [];
    let starts = 0;
    const connected = { generation: 1 };
    const connection = {
      connected: undefined as unknown,
      start: () => {
        starts++;
        connection.connected = connected;
      },
    };
    const log = { info() {}, error() {}, warn() {}, debug() {}, trace() {} };
    const disposables = registerCommands({ connection, log } as never, {
      'test.local': { what: 'Local', withoutDaemon: () => () => void ran.push('local') },
      'test.daemon': { what: 'Daemon', withDaemon: (_ctx, c) => () => void ran.push(`daemon of generation ${(c as unknown as typeof connected).generation}`) },
    });
    await vscode.commands.executeCommand('test.local');
    expect(starts).toBe(0);
    await vscode.commands.executeCommand('test.daemon');
    expect(starts).toBe(1);
    expect(ran).toEqual(['local', 'daemon of generation 1']);
    disposables.forEach((d) => d.dispose());
  });
});
