import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createFileLogger,
  LOG_FILE_NAME,
  nullLogger,
  Redactor,
  type FileLogger,
  type FileLoggerOptions,
} from '../../daemon/src/runtime/log';

let dir: string;
let logFile: string;
const loggers: FileLogger[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'branchbox-log-'));
  logFile = path.join(dir, LOG_FILE_NAME);
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const l of loggers.splice(0)) l.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function logger(options: Partial<FileLoggerOptions> = {}): FileLogger {
  const log = createFileLogger({ stateDir: dir, ...options });
  loggers.push(log);
  return log;
}

const readLines = (file: string): Record<string, unknown>[] =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('file logger', () => {
  it('writes one parseable JSON object per line with time, level, message and fields', () => {
    const log = logger({ level: 'debug', now: () => new Date('2025-03-04T05:06:07.089Z') });
    log.trace('dropped below the minimum level');
    log.debug('Building image for account@a1b2c3d', { sandbox: 'account', attempt: 2 });
    log.child({ conn: 3 }).child({ req: 'x' }).warn('slow', { ms: 1200 });
    log.error('Failed', { error: new Error('no space left') });

    const lines = readLines(logFile);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toEqual({
      t: '2025-03-04T05:06:07.089Z',
      level: 'debug',
      msg: 'Building image for account@a1b2c3d',
      sandbox: 'account',
      attempt: 2,
    });
    expect(lines[1]).toMatchObject({ level: 'warn', msg: 'slow', conn: 3, req: 'x', ms: 1200 });
    expect(lines[2]).toMatchObject({ level: 'error', error: { name: 'Error', message: 'no space left' } });
    expect(log.path).toBe(logFile);
  });

  it('defaults to level info and keeps t/level/msg from being overwritten by fields', () => {
    const log = logger();
    log.debug('hidden');
    log.info('shown', { level: 'fake', msg: 'fake' });
    expect(readLines(logFile)).toEqual([
      expect.objectContaining({ level: 'info', msg: 'shown', _level: 'fake', _msg: 'fake' }),
    ]);
  });

  it('appends to an existing file and drops lines after close', () => {
    logger().info('first');
    loggers.pop()!.close();
    const log = logger();
    log.info('second');
    log.close();
    log.close();
    log.info('after close');
    expect(readLines(logFile).map((l) => l.msg)).toEqual(['first', 'second']);
  });

  it('rotates by size, keeping 3 older files each within the cap', () => {
    const maxBytes = 2000;
    const log = logger({ maxBytes, keep: 3 });
    const total = 400;
    for (let i = 0; i < total; i++) log.info('line', { i, pad: 'p'.repeat(50) });

    const files = [`${logFile}.3`, `${logFile}.2`, `${logFile}.1`, logFile];
    expect(fs.readdirSync(dir).sort()).toEqual([LOG_FILE_NAME, ...['1', '2', '3'].map((n) => `${LOG_FILE_NAME}.${n}`)]);
    for (const f of files) expect(fs.statSync(f).size).toBeLessThanOrEqual(maxBytes);
    for (const f of files.slice(0, 3)) expect(fs.statSync(f).size).toBeGreaterThan(maxBytes / 2);

    // Oldest to newest, the kept lines are the most recent ones, in order, none lost between files.
    const kept = files.flatMap(readLines).map((l) => l.i as number);
    expect(kept.at(-1)).toBe(total - 1);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, k) => total - kept.length + k));
  });

  it('never writes a registered secret or a secret-looking field', () => {
    const redactor = new Redactor();
    const log = logger({ redactor, level: 'trace' });
    const secret = 'hunter2-s3cr3t-value';
    const token = 'f00dfeedf00dfeedf00dfeedf00dfeed';
    redactor.addSecret(secret);

    log.info(`connecting with ${secret}`, {
      token,
      apiToken: token,
      headers: { Authorization: `Bearer ${token}`, accept: 'json' },
      env: [{ name: 'DB_PASSWORD', password: 'pw-literal' }],
      note: `the value is ${secret}!`,
      error: new Error(`login failed for ${secret}`),
    });
    log.child({ clientSecret: 'child-secret-value' }).warn('child line');

    const content = fs.readFileSync(logFile, 'utf8');
    for (const leaked of [secret, token, 'pw-literal', 'child-secret-value']) expect(content).not.toContain(leaked);
    const [first, second] = readLines(logFile);
    expect(first).toMatchObject({
      msg: 'connecting with ***',
      token: '***',
      apiToken: '***',
      headers: { Authorization: '***', accept: 'json' },
      env: [{ name: 'DB_PASSWORD', password: '***' }],
      note: 'the value is ***!',
      error: { message: 'login failed for ***' },
    });
    expect(second).toMatchObject({ clientSecret: '***' });
  });

  it('mirrors lines to stderr when asked', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    logger({ mirrorToStderr: true }).info('to both');
    logger({ fileName: 'quiet.log' }).info('file only');

    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0]!)).toMatchObject({ msg: 'to both' });
    expect(readLines(logFile)).toHaveLength(1);
  });

  it('hands every written line to the tap, and survives a throwing tap', () => {
    const tapped: string[] = [];
    const redactor = new Redactor();
    redactor.addSecret('tap-secret');
    const log = logger({
      redactor,
      tap: (line) => {
        tapped.push(line);
        throw new Error('listener failed');
      },
    });
    log.debug('below level');
    log.info('one tap-secret');
    log.info('two');

    expect(tapped.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['one ***', 'two']);
    expect(tapped.join('')).toBe(fs.readFileSync(logFile, 'utf8'));
  });

  it('serialises awkward values without throwing', () => {
    const log = logger();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    log.info('values', { big: 10n, cyclic, when: new Date(0), set: new Set([1]), map: new Map([['k', 'v']]) });
    expect(readLines(logFile)[0]).toMatchObject({
      big: '10',
      cyclic: { name: 'loop', self: '[Circular]' },
      when: '1970-01-01T00:00:00.000Z',
      set: [1],
      map: { k: 'v' },
    });
  });
});

describe('Redactor', () => {
  it('masks the longer of overlapping secrets whole and can forget a secret', () => {
    const r = new Redactor();
    r.addSecret('abcdef');
    r.addSecret('abcdefghij');
    r.addSecret('');
    expect(r.redactText('x abcdefghij y abcdef z')).toBe('x *** y *** z');
    r.removeSecret('abcdef');
    expect(r.redactText('abcdef')).toBe('abcdef');
  });
});

describe('nullLogger', () => {
  it('accepts everything and returns itself as child', () => {
    nullLogger.error('nothing', { token: 'x' });
    expect(nullLogger.child({ conn: 1 })).toBe(nullLogger);
  });
});
