/**
 * The Problems panel's view of a project: each `project/load` answer published on the file
 * and line it names, cleared once the project loads, and an older answer arriving after a
 * newer one dropped (it must not put back problems already fixed).
 */
import { describe, expect, it, vi } from 'vitest';
vi.mock('vscode', () => import('./fake-vscode'));
import * as fake from './fake-vscode';
import { ProtocolError } from '../../../schemas/src/client';
import { errorTable } from '../../../schemas/src/errors';
import type { ConfigProblem } from '../../../schemas/src/project';
import { PROJECT_FILE_GLOB } from '../../../schemas/src/project-files';
import { ConfigDiagnostics } from '../../../extension/src/config-diagnostics';
import type { Connected, DaemonConnection, Logger } from '../../../extension/src/connection';

const ROOT = '/repo';
const FILE = `${ROOT}/branchbox.yaml`;
const quiet: Logger = { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const connection = { connected: undefined, whileConnected: () => ({ dispose: () => undefined }) } as unknown as DaemonConnection;

/** A client whose `project/load` answers wait until the test settles them, in any order. */
function pendingClient() {
  const answers: { resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  const c = { client: { request: () => new Promise((resolve, reject) => answers.push({ resolve, reject })) } } as unknown as Connected;
  return { c, answers };
}

const typo: ConfigProblem = { file: FILE, line: 3, column: 5, field: 'services.web.prot', message: 'is not a known field (expected port, build)' };
const invalid = (problems: ConfigProblem[]) => new ProtocolError(errorTable.ConfigInvalid.code, 'invalid', { errors: problems });
const published = () => [...(fake.diagnostics.get('branchbox')?.get(fake.Uri.file(FILE).toString()) ?? [])] as fake.Diagnostic[];

describe('ConfigDiagnostics', () => {
  fake.files.set(FILE, 'version: 1\nservices:\n    prot: 80\n');
  const diagnostics = new ConfigDiagnostics(connection, quiet, fake.workspace.createFileSystemWatcher(PROJECT_FILE_GLOB) as never);

  it('publishes a ConfigInvalid answer on the key it names, with the suggestion, and clears it once the project loads', async () => {
    const { c, answers } = pendingClient();
    const checked = diagnostics.validate(c, ROOT);
    answers[0]!.reject(invalid([typo]));
    await checked;
    expect(published().map((d) => [d.range.startLine, d.range.startCharacter, d.message, d.code])).toEqual([
      [2, 4, 'services.web.prot is not a known field (expected port, build); did you mean `port`?', 'unknown-key'],
    ]);
    const again = diagnostics.validate(c, ROOT);
    answers[1]!.resolve({ name: 'shop', services: {} });
    await again;
    expect(published()).toEqual([]);
  });

  it('drops an older answer that arrives after a newer one', async () => {
    const { c, answers } = pendingClient();
    const older = diagnostics.validate(c, ROOT);
    const newer = diagnostics.validate(c, ROOT);
    answers[1]!.resolve({ name: 'shop', services: {} });
    await newer;
    answers[0]!.reject(invalid([typo]));
    await older;
    expect(published()).toEqual([]);
  });

  it('checks a project file changed on disk (a checkout), not other files', async () => {
    const asked: unknown[] = [];
    const request = async (_method: string, params: unknown) => {
      asked.push(params);
      return { name: 'shop', services: {} };
    };
    const c = { client: { request } } as unknown as Connected;
    const online = { connected: c, whileConnected: () => ({ dispose: () => undefined }) } as unknown as DaemonConnection;
    const watched = new ConfigDiagnostics(online, quiet, fake.workspace.createFileSystemWatcher(PROJECT_FILE_GLOB) as never);
    const watcher = fake.created.fileWatchers.at(-1)!;
    expect(watcher.glob).toBe(PROJECT_FILE_GLOB);
    watcher.changed.fire(fake.Uri.file(FILE));
    watcher.deleted.fire(fake.Uri.file('/repo/sub/compose.yaml'));
    watcher.changed.fire(fake.Uri.file('/repo/notes.yaml'));
    expect(asked).toEqual([{ path: ROOT }, { path: '/repo/sub' }]);
    watched.dispose();
  });
});
