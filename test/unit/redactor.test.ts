/**
 * The daemon's one redactor (daemon/src/runtime/redactor.ts): the secret-key rule, the
 * minimum length, masking in text, in JSON answers on the wire, and in byte streams cut at
 * every possible point.
 */
import { describe, expect, it } from 'vitest';
import {
  isSecretKey,
  MIN_SECRET_LENGTH,
  REDACTED,
  Redactor,
  redactedConnection,
  SecretSet,
  StreamRedactor,
} from '../../daemon/src/runtime/redactor';

const TOKEN = 'tok-Zq9x7-do-not-print';
const UNICODE = 'pässwörd-✓-日本-🔑'; // 1-, 2-, 3- and 4-byte UTF-8 characters

function redactorWith(...values: string[]): Redactor {
  const r = new Redactor();
  r.setSecrets('test', values);
  return r;
}

/** Feeds `pieces` through a fresh stream masker; answers the output bytes and the most it ever held. */
function stream(redactor: Redactor, pieces: readonly Buffer[]): { out: Buffer; maxHeld: number; chunks: Buffer[] } {
  const s = redactor.stream();
  const chunks: Buffer[] = [];
  let maxHeld = 0;
  for (const piece of pieces) {
    chunks.push(s.push(piece));
    maxHeld = Math.max(maxHeld, s.holding);
  }
  chunks.push(s.end());
  return { out: Buffer.concat(chunks), maxHeld, chunks };
}

/** `bytes` cut at the given offsets. */
function cutAt(bytes: Buffer, offsets: readonly number[]): Buffer[] {
  const points = [0, ...offsets, bytes.length];
  return points.slice(1).map((end, i) => bytes.subarray(points[i]!, end));
}

describe('the secret-key rule', () => {
  it.each([
    'API_TOKEN',
    'github_token',
    'DB_PASSWORD',
    'passwd',
    'GPG_PASSPHRASE',
    'client_secret',
    'AWS_SECRET_ACCESS_KEY',
    'Authorization',
    'GOOGLE_CREDENTIALS',
    'apiKey',
    'X-API-KEY',
    'private_key',
    'AWS_ACCESS_KEY_ID',
    'STRIPE_KEY',
    'tls.key',
  ])('calls %s secret', (key) => expect(isSecretKey(key)).toBe(true));

  it.each(['PATH', 'HOME', 'key', 'KEYBOARD', 'NODE_VERSION', 'DATABASE_URL', 'PWD', 'monkey', 'subscription'])(
    'does not call %s secret',
    (key) => expect(isSecretKey(key)).toBe(false),
  );
});

describe('Redactor in text', () => {
  it(`ignores values shorter than ${MIN_SECRET_LENGTH} characters in text, but knows them as whole values`, () => {
    const r = redactorWith('1', 'true', 'abcde', 'abcdef');
    expect(r.redactText('1 true abcde abcdef')).toBe(`1 true abcde ${REDACTED}`);
    expect(r.isSecretValue('true')).toBe(true);
    expect(r.isSecretValue('false')).toBe(false);
  });

  it('masks overlapping secrets as one and masks every occurrence, overlapping ones too', () => {
    const r = redactorWith('abcdefgh', 'efghijkl', 'xxxxxx');
    expect(r.redactText('0abcdefghijkl1')).toBe('0***1');
    expect(r.redactText('xxxxxxxxx and abcdefgh')).toBe('*** and ***');
    expect(r.redactText('abcdefghabcdefgh')).toBe('******'); // side by side: two masks
  });

  it('masks a multi-line secret whole and line by line', () => {
    const key = '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\r\nAQEFAASCBKcwggSjAgEAAoIBAQ\n-----END KEY-----';
    const r = redactorWith(key);
    expect(r.redactText(`key: ${key}.`)).toBe('key: ***.');
    expect(r.redactText('line MIIEvQIBADANBgkqhkiG9w0B')).toBe('line ***');
    expect(r.redactText('AQEFAASCBKcwggSjAgEAAoIBAQ')).toBe('***');
  });

  it('follows its sources live: replaced, added and removed values', () => {
    const r = new Redactor();
    r.setSecrets('environment', ['first-secret']);
    r.addSecret(TOKEN);
    expect(r.redactText(`first-secret ${TOKEN}`)).toBe('*** ***');
    r.setSecrets('environment', ['second-secret']);
    expect(r.redactText('first-secret second-secret')).toBe('first-secret ***');
    r.removeSecret(TOKEN);
    expect(r.redactText(TOKEN)).toBe(TOKEN);
  });

  it('copies answers with every string and key masked, structure and numbers kept', () => {
    const r = redactorWith(TOKEN, '12345678');
    const value = { a: [TOKEN, 1, true, null, { [TOKEN]: `x ${TOKEN} y` }], n: 12345678, s: '12345678' };
    expect(r.redactStrings(value)).toEqual({ a: ['***', 1, true, null, { '***': 'x *** y' }], n: 12345678, s: '***' });
    expect(new Redactor().redactStrings(value)).toBe(value); // nothing to mask: no copy
  });
});

describe('Redactor on the wire', () => {
  it('answers the very message when no secret is in it', () => {
    const r = redactorWith(TOKEN);
    const message = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { n: 1 } });
    expect(r.redactWire(message)).toBe(message);
  });

  it.each([
    ['plain', TOKEN],
    ['with quotes and backslashes', 'a"quoted\\secret"value'],
    ['with a newline and a tab', 'line-one\nline\ttwo-x'],
    ['in unicode', UNICODE],
    ['that is all digits', '98765432101'],
  ])('masks a secret %s and keeps the message valid JSON', (_what, secret) => {
    const r = redactorWith(secret);
    const message = JSON.stringify({
      jsonrpc: '2.0',
      method: 'container/logs/data',
      params: { items: [{ line: `before ${secret} after`, n: 98765432101 }], [secret]: 1 },
    });
    const out = r.redactWire(message);
    const parsed = JSON.parse(out) as { params: { items: { line: string; n: number }[] } };
    expect(parsed.params.items[0]).toEqual({ line: 'before *** after', n: 98765432101 });
    expect(Object.keys(parsed.params)).toEqual(['items', '***']);
  });

  it('does not take an escape sequence followed by text for a secret', () => {
    // The JSON of "x", a newline, "othing-here" reads `x\nothing-here`: it holds no secret.
    const r = redactorWith('nothing-here');
    const value = { a: 'x\nothing-here', b: 'x\\nothing-here' };
    expect(JSON.parse(r.redactWire(JSON.stringify(value)))).toEqual({ a: 'x\nothing-here', b: 'x\\***' });
  });
});

describe('redactedConnection', () => {
  it('masks every message it sends and passes the rest of the connection through', async () => {
    const sent: string[] = [];
    const closed: unknown[] = [];
    const inner = {
      label: 'ws#1',
      send: (m: string) => void sent.push(m),
      bufferedAmount: () => 42,
      whenDrained: () => Promise.resolve(),
      close: (code?: number, reason?: string) => void closed.push([code, reason]),
    };
    const outer = redactedConnection(inner, redactorWith(TOKEN));
    outer.send(JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: 1, message: `failed with ${TOKEN}` } }));
    outer.close(1000, 'bye');
    await outer.whenDrained();
    expect(JSON.parse(sent[0]!)).toMatchObject({ error: { message: 'failed with ***' } });
    expect([outer.label, outer.bufferedAmount(), closed]).toEqual(['ws#1', 42, [[1000, 'bye']]]);
  });
});

describe('StreamRedactor', () => {
  const secrets = [TOKEN, UNICODE, 'aaaaaab', 'abcabcabd'];
  const redactor = redactorWith(...secrets);
  const longest = Math.max(...secrets.map((s) => Buffer.byteLength(s)));

  it.each(secrets)('masks %s cut at every point, and at every pair of points', (secret) => {
    const text = Buffer.from(`[${secret}] then [${secret}${secret}]\n`);
    const expected = Buffer.from(redactor.redactText(text.toString()));
    expect(expected.toString()).toBe('[***] then [******]\n');
    for (let i = 0; i <= text.length; i++) {
      const one = stream(redactor, cutAt(text, [i]));
      expect(one.out.equals(expected), `cut at ${i}`).toBe(true);
      expect(one.maxHeld).toBeLessThanOrEqual(longest - 1);
      for (let j = i; j <= text.length; j++) {
        expect(stream(redactor, cutAt(text, [i, j])).out.equals(expected), `cut at ${i}, ${j}`).toBe(true);
      }
    }
  });

  it('masks a secret written one byte at a time, never holding more than the longest secret less one byte', () => {
    const text = Buffer.from(`x${UNICODE}y${TOKEN}z aaaaaaab abcabcabcabd`);
    const bytes = [...text].map((b) => Buffer.from([b]));
    const { out, maxHeld } = stream(redactor, bytes);
    expect(out.toString()).toBe('x***y***z a*** abc***');
    expect(maxHeld).toBeLessThanOrEqual(longest - 1);
  });

  it('keeps UTF-8 intact around a mask, with characters cut across chunks', () => {
    const text = Buffer.from(`ü→${TOKEN}←🔑 日本`);
    for (let i = 0; i <= text.length; i++) {
      const { out } = stream(redactor, cutAt(text, [i]));
      expect(out.toString('utf8')).toBe('ü→***←🔑 日本');
    }
  });

  it('holds nothing back when no secret could begin at the end of a chunk', () => {
    const s = redactor.stream();
    const chunk = Buffer.from('plain output with no secret in sight\n');
    expect(s.push(chunk)).toBe(chunk);
    expect(s.holding).toBe(0);
    expect(s.push(Buffer.from('ends with tok'))).toEqual(Buffer.from('ends with '));
    expect(s.holding).toBe(3);
    expect(s.end().toString()).toBe('tok');
  });

  it('passes bytes through untouched when there are no secrets', () => {
    const s = new Redactor().stream();
    const chunk = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    expect(s.push(chunk)).toBe(chunk);
    expect(s.end().length).toBe(0);
  });

  it('masks two overlapping secrets cut across chunks as one', () => {
    const r = redactorWith('abcdefgh', 'efghijkl');
    const text = Buffer.from('0abcdefghijkl1');
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) {
        expect(stream(r, cutAt(text, [i, j])).out.toString(), `cut at ${i}, ${j}`).toBe('0***1');
      }
    }
  });

  it('uses the secrets in force at each chunk', () => {
    const r = new Redactor();
    const s = r.stream();
    expect(s.push(Buffer.from('early-secret ')).toString()).toBe('early-secret ');
    r.setSecrets('environment', ['early-secret']);
    expect(s.push(Buffer.from('early-secret')).toString()).toBe('***');
  });
});

describe('SecretSet', () => {
  it('knows the longest end of a chunk that begins a secret', () => {
    const set = new SecretSet(['abcabd', 'zzzzzz']);
    expect(set.pendingPrefix(Buffer.from('xxabcab'))).toBe(5);
    expect(set.pendingPrefix(Buffer.from('xxabcabd'))).toBe(0); // a whole secret is not pending
    expect(set.pendingPrefix(Buffer.from('zzzzzzzz'))).toBe(5);
    expect(set.pendingPrefix(Buffer.from('q'))).toBe(0);
    expect(new StreamRedactor(() => set).holding).toBe(0);
  });
});
