import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createToken,
  ensureStateDir,
  readRuntimeFile,
  removeRuntimeFile,
  RUNTIME_FILE_NAME,
  RuntimeFileError,
  writeRuntimeFile,
  type RuntimeInfo,
} from '../../schemas/node/runtime-file';

const posixOnly = process.platform === 'win32' ? it.skip : it;

let dir: string;
let file: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'branchbox-runtime-'));
  file = path.join(dir, RUNTIME_FILE_NAME);
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const info = (overrides: Partial<RuntimeInfo> = {}): RuntimeInfo => ({
  port: 43123,
  token: createToken(),
  pid: process.pid,
  version: '0.1.0',
  ...overrides,
});

const modeOf = (p: string): number => fs.statSync(p).mode & 0o777;

/** The error readRuntimeFile throws for the file in `dir`. */
function readError(): Error {
  try {
    readRuntimeFile(dir);
  } catch (e) {
    if (e instanceof Error) return e;
  }
  throw new Error('expected readRuntimeFile to throw');
}

describe('createToken', () => {
  it('is 32 random bytes as 64 hex characters', () => {
    const a = createToken();
    const b = createToken();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
  });
});

describe('ensureStateDir', () => {
  posixOnly('creates missing parents with mode 0700', () => {
    const nested = path.join(dir, 'a', 'b');
    ensureStateDir(nested);
    ensureStateDir(nested); // idempotent
    expect(modeOf(nested) & 0o077).toBe(0);
    expect(modeOf(nested) & 0o700).toBe(0o700);
  });
});

describe('runtime file', () => {
  posixOnly('is written with mode 0600, even over a file that was world-readable', () => {
    fs.writeFileSync(file, '{}', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    writeRuntimeFile(dir, info());
    expect(modeOf(file)).toBe(0o600);
  });

  it('round-trips and leaves no temp files', () => {
    const written = info();
    expect(writeRuntimeFile(dir, written)).toBe(file);
    expect(readRuntimeFile(dir)).toEqual(written);
    expect(fs.readdirSync(dir)).toEqual([RUNTIME_FILE_NAME]);

    const replaced = info({ port: 50000 });
    writeRuntimeFile(dir, replaced);
    expect(readRuntimeFile(dir)).toEqual(replaced);
    expect(fs.readdirSync(dir)).toEqual([RUNTIME_FILE_NAME]);
  });

  it('reads as undefined when missing', () => {
    expect(readRuntimeFile(dir)).toBeUndefined();
  });

  it.each([
    ['not JSON', '{"port": 1, "tok'],
    ['an array', '[]'],
    ['a missing token', '{"port": 80, "pid": 1, "version": "1"}'],
    ['a bad port', '{"port": 0, "token": "t", "pid": 1, "version": "1"}'],
    ['a bad pid', '{"port": 80, "token": "t", "pid": "1", "version": "1"}'],
  ])('reading %s throws an error naming the file', (_what, content) => {
    fs.writeFileSync(file, content);
    const error = readError();
    expect(error).toBeInstanceOf(RuntimeFileError);
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/malformed/);
  });

  it('never quotes the file content (which may hold the token) in the error', () => {
    const token = createToken();
    fs.writeFileSync(file, `{"token": "${token}", oops}`);
    const error = readError();
    expect(error).toBeInstanceOf(RuntimeFileError);
    expect(error.message).not.toContain(token);
  });

  it('is removed only by the pid that wrote it', () => {
    writeRuntimeFile(dir, info({ pid: process.pid + 1 }));
    expect(removeRuntimeFile(dir)).toBe(false);
    expect(fs.existsSync(file)).toBe(true);

    writeRuntimeFile(dir, info());
    expect(removeRuntimeFile(dir)).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
    expect(removeRuntimeFile(dir)).toBe(false);
  });

  it('leaves a malformed file in place on remove', () => {
    fs.writeFileSync(file, 'garbage');
    expect(removeRuntimeFile(dir)).toBe(false);
    expect(fs.existsSync(file)).toBe(true);
  });
});
