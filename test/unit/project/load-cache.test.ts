/**
 * A project file is parsed once per content: loading the same text again (from another export
 * of the same commit, or by the monitors that read it periodically) only normalizes it again,
 * for its own path; a changed file is read anew; a caller changing what it got changes nothing
 * for the next one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../../daemon/src/project/load';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-load-cache-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function repo(name: string, text: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'branchbox.yaml'), text);
  return dir;
}

const text = (port: number) => `version: 1\nproject: cached\nservices:\n  web:\n    build: { image: local/web:1 }\n    port: ${port}\n`;

describe('loadProject by content', () => {
  it('answers each path with its own file and root, from one parse', () => {
    const a = loadProject(repo('a', text(8080)));
    const b = loadProject(repo('b', text(8080)));
    expect(a.root).toBe(path.join(tmp, 'a'));
    expect(b.root).toBe(path.join(tmp, 'b'));
    expect(b.file).toBe(path.join(tmp, 'b', 'branchbox.yaml'));
    expect(b.services.web!.port).toBe(8080);
  });

  it('reads a changed file anew, even at once and at the same size', () => {
    const dir = repo('c', text(8080));
    expect(loadProject(dir).services.web!.port).toBe(8080);
    fs.writeFileSync(path.join(dir, 'branchbox.yaml'), text(9090));
    expect(loadProject(dir).services.web!.port).toBe(9090);
  });

  it('gives every caller its own copy', () => {
    const dir = repo('d', text(8080));
    const first = loadProject(dir);
    first.services.web!.port = 1;
    delete first.services.web;
    expect(loadProject(dir).services.web!.port).toBe(8080);
  });
});
