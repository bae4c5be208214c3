/** Compose projects written to temp folders for the tests, and their problems as "file:line:column field: message". */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';
import type { ConfigProblem } from '../../../../schemas/src/project';
import { loadProject } from '../../../../daemon/src/project/load';
import { RpcError } from '../../../../daemon/src/rpc/errors';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-compose-'));
let n = 0;

/** A new folder holding `files` (path → text). */
export function composeRepo(files: Record<string, string>): string {
  const dir = path.join(base, `repo-${++n}`);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

export function removeRepos(): void {
  fs.rmSync(base, { recursive: true, force: true });
}

const show = (dir: string, p: ConfigProblem) => `${path.relative(dir, p.file)}:${p.line}:${p.column} ${p.field}: ${p.message}`;

/** The ConfigInvalid problems of loading `dir`. */
export function problemsOf(dir: string): string[] {
  try {
    loadProject(dir);
  } catch (e) {
    expect(e).toBeInstanceOf(RpcError);
    expect((e as RpcError).errorName).toBe('ConfigInvalid');
    return ((e as RpcError).data!.errors as ConfigProblem[]).map((p) => show(dir, p));
  }
  throw new Error('expected ConfigInvalid');
}

/** The warnings of a project that loads. */
export function warningsOf(dir: string): string[] {
  return (loadProject(dir).warnings ?? []).map((p) => show(dir, p));
}
