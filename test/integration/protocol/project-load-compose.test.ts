/**
 * `project/load` of a compose project on a real branchboxd (dist/), read by the project worker
 * thread: the compose-shop fixture answers its normalized services; a broken compose file
 * answers ConfigInvalid at its file:line, as on the daemon's own thread.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, startTestDaemon, type TestClient, type TestDaemon } from '../../helpers/daemon';

const SHOP = path.resolve(__dirname, '../../fixtures/projects/compose-shop');
let daemon: TestDaemon;
let client: TestClient;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-project-load-compose-'));

beforeAll(async () => {
  daemon = await startTestDaemon();
  client = await daemon.connect('compose');
});
afterAll(async () => {
  await client?.closeSocket();
  await daemon?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('project/load of compose projects', () => {
  it('answers the compose-shop fixture', async () => {
    const project = await client.request('project/load', { path: SHOP });
    expect(project).toMatchObject({ name: 'compose-shop', source: { kind: 'compose' }, profiles: ['cache'] });
    expect(project.services.migrate).toMatchObject({ job: true, http: false });
    expect(project.services.db!.ports).toEqual([{ container: 5432, protocol: 'tcp', published: 5432 }]);
  });

  it('answers ConfigInvalid at file:line for a broken compose file', async () => {
    fs.writeFileSync(path.join(tmp, 'compose.yaml'), 'services:\n  web:\n    image: a\n    privileged: true\n');
    const e = await failure(client.request('project/load', { path: tmp }));
    expect(e).toMatchObject({ errorName: 'ConfigInvalid' });
    expect(e.message).toMatch(/^compose\.yaml:4:5: services\.web\.privileged privileged would weaken/);
    expect(e.data).toMatchObject({ errors: [{ file: path.join(tmp, 'compose.yaml'), line: 4, column: 5 }] });
  });
});
