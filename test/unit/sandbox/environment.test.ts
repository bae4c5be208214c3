import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Redactor } from '../../../daemon/src/runtime/redactor';
import { RETIRED_SECRET_DAYS, unmaskedSecretWarning } from '../../../daemon/src/sandbox/environment';
import { EnvironmentStore } from '../../../daemon/src/sandbox/environment';
import { SandboxStore } from '../../../daemon/src/sandbox/sandbox-store';
import { SecretBox } from '../../../daemon/src/sandbox/secrets';
import { openStore, type Store } from '../../../daemon/src/state/store';

const SECRET = 'hunter2-Zq9-very-secret-value';

let dir: string;
let store: Store;
let redactor: Redactor;
let env: EnvironmentStore;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-env-'));
  store = openStore(path.join(dir, 'state.db'));
  redactor = new Redactor();
  env = new EnvironmentStore(store, new SecretBox(dir), redactor);
  const sandboxes = new SandboxStore(store);
  sandboxes.insert({ name: 'qa', owner: 'me' });
  sandboxes.insert({ name: 'other', owner: 'me' });
});

afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('SecretBox', () => {
  it('round-trips values, with a new IV each time, under a 0600 32-byte key made on first use', () => {
    const box = new SecretBox(dir);
    expect(fs.existsSync(box.keyPath)).toBe(false);
    const a = box.encrypt(SECRET);
    const b = box.encrypt(SECRET);
    expect(a).not.toBe(b);
    expect(a.startsWith('v1:')).toBe(true);
    expect(a).not.toContain(SECRET);
    expect(box.decrypt(a)).toBe(SECRET);
    expect(new SecretBox(dir).decrypt(b)).toBe(SECRET); // the same key, read back from the file
    expect(fs.statSync(box.keyPath).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(box.keyPath).length).toBe(32);
    expect(box.decrypt(box.encrypt(''))).toBe('');
    expect(box.decrypt(box.encrypt('ünïcödé ✓'))).toBe('ünïcödé ✓');
  });

  it('refuses a tampered value and a value from another key', () => {
    const box = new SecretBox(dir);
    const stored = box.encrypt(SECRET);
    const raw = Buffer.from(stored.slice(3), 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => box.decrypt(`v1:${raw.toString('base64')}`)).toThrow(/cannot be decrypted/);
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-env-other-'));
    try {
      expect(() => new SecretBox(otherDir).decrypt(stored)).toThrow(/cannot be decrypted/);
    } finally {
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('refuses a key file of the wrong size', () => {
    fs.writeFileSync(path.join(dir, 'secret.key'), 'short', { mode: 0o600 });
    expect(() => new SecretBox(dir).encrypt('x')).toThrow(/holds 5 bytes, not a 32-byte key/);
  });
});

describe('EnvironmentStore', () => {
  it('masks secrets in every view and resolves them in clear for the deploy, service over sandbox', () => {
    env.set('qa', undefined, 'LOG_LEVEL', 'info', false);
    env.set('qa', undefined, 'API_TOKEN', SECRET, true);
    env.set('qa', 'web', 'LOG_LEVEL', 'debug', false);
    const entry = env.set('qa', 'web', 'DB_PASSWORD', `${SECRET}-db`, true);
    expect(entry).toMatchObject({ sandbox: 'qa', service: 'web', key: 'DB_PASSWORD', value: '***', secret: true });

    expect(env.list('qa').map((e) => [e.service ?? '', e.key, e.value])).toEqual([
      ['', 'API_TOKEN', '***'],
      ['', 'LOG_LEVEL', 'info'],
      ['web', 'DB_PASSWORD', '***'],
      ['web', 'LOG_LEVEL', 'debug'],
    ]);
    expect(env.list('qa', 'web').map((e) => e.key)).toEqual(['DB_PASSWORD', 'LOG_LEVEL']);
    expect(env.get('qa', undefined, 'API_TOKEN')?.value).toBe('***');
    expect(env.get('qa', undefined, 'MISSING')).toBeUndefined();

    expect(env.resolve('qa', 'web')).toEqual({ LOG_LEVEL: 'debug', API_TOKEN: SECRET, DB_PASSWORD: `${SECRET}-db` });
    expect(env.resolve('qa', 'api')).toEqual({ LOG_LEVEL: 'info', API_TOKEN: SECRET });
    expect(env.resolve('other', 'web')).toEqual({});
    expect(env.secretValues('qa').sort()).toEqual([SECRET, `${SECRET}-db`]);
    expect(redactor.redactText(`token=${SECRET}-db and ${SECRET}`)).toBe('token=*** and ***');
  });

  it('turns a secret back into a variable and deletes entries', () => {
    env.set('qa', undefined, 'K', SECRET, true);
    env.set('qa', undefined, 'K', 'plain', false);
    expect(env.get('qa', undefined, 'K')).toMatchObject({ value: 'plain', secret: false });
    expect(env.delete('qa', undefined, 'K')).toBe(true);
    expect(env.delete('qa', undefined, 'K')).toBe(false);
  });

  it('rejects invalid keys', () => {
    expect(() => env.set('qa', undefined, '1BAD', 'x', false)).toThrow(
      expect.objectContaining({ errorName: 'InvalidName' }),
    );
  });

  it('copies entries with secrets still encrypted, and registers every stored secret at start', () => {
    env.set('qa', 'web', 'API_TOKEN', SECRET, true);
    env.set('qa', undefined, 'MODE', 'x', false);
    const stored = env.stored('qa');
    expect(JSON.stringify(stored)).not.toContain(SECRET);
    env.replaceStored('other', stored);
    expect(env.resolve('other', 'web')).toEqual({ MODE: 'x', API_TOKEN: SECRET });

    const fresh = new Redactor();
    expect(new EnvironmentStore(store, new SecretBox(dir), fresh).publishSecrets()).toBe(1);
    expect(fresh.redactText(SECRET)).toBe('***');
  });

  it('keeps the redactor current: a secret is masked once set, and an old value stays masked after a change or delete', () => {
    let now = Date.parse('2025-01-01T00:00:00Z');
    const clock = () => new Date(now);
    const live = new Redactor();
    const e = new EnvironmentStore(store, new SecretBox(dir), live, clock);
    e.publishSecrets();
    const masked = (text: string) => live.redactText(text) !== text;

    e.set('qa', undefined, 'DATABASE_URL', 'postgres://u:first-pass@db/app', true);
    expect(masked('postgres://u:first-pass@db/app')).toBe(true);
    // Changed: the new value is masked at once, the old one still (a running container has it).
    e.set('qa', undefined, 'DATABASE_URL', 'postgres://u:second-pass@db/app', true);
    expect(masked('postgres://u:second-pass@db/app')).toBe(true);
    expect(masked('postgres://u:first-pass@db/app')).toBe(true);
    // Deleted, and a sandbox deleted with its secrets: still masked, also by a restarted daemon.
    e.set('other', 'web', 'API_TOKEN', SECRET, true);
    expect(e.delete('qa', undefined, 'DATABASE_URL')).toBe(true);
    new SandboxStore(store).remove('other');
    e.publishSecrets();
    const restarted = new Redactor();
    new EnvironmentStore(store, new SecretBox(dir), restarted, clock).publishSecrets();
    for (const r of [live, restarted]) {
      expect(r.redactText(`a postgres://u:second-pass@db/app b ${SECRET}`)).toBe('a *** b ***');
    }
    // Retired values are dropped after their time, and never stored in clear.
    now += (RETIRED_SECRET_DAYS + 1) * 86_400_000;
    e.publishSecrets();
    expect(masked(SECRET)).toBe(false);
    expect(JSON.stringify(store.db.prepare('SELECT * FROM meta').all())).not.toContain('pass@db');
  });

  it('says when a secret is too short to be masked in output', () => {
    expect(unmaskedSecretWarning('FLAG', 'true')).toMatch(/^The value of secret FLAG is shorter than 6 characters/);
    expect(unmaskedSecretWarning('TOKEN', 'long-enough')).toBeUndefined();
    env.set('qa', undefined, 'FLAG', 'true', true);
    expect(redactor.redactText('true')).toBe('true');
    expect(redactor.isSecretValue('true')).toBe(true);
  });

  it('never writes a secret in clear to the database files', () => {
    env.set('qa', undefined, 'API_TOKEN', SECRET, true);
    env.set('qa', 'web', 'OTHER_SECRET', `${SECRET}-2`, true);
    env.replaceStored('other', env.stored('qa'));
    const files = () =>
      fs
        .readdirSync(dir)
        .filter((f) => f.startsWith('state.db'))
        .map((f) => path.join(dir, f));
    const contains = (file: string) => fs.readFileSync(file).includes(Buffer.from(SECRET));
    // While open (the WAL holds the latest pages) and after the checkpoint on close.
    expect(files().length).toBeGreaterThan(1);
    for (const file of files()) expect(contains(file), file).toBe(false);
    store.close();
    for (const file of files()) expect(contains(file), file).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'state.db')).includes(Buffer.from('API_TOKEN'))).toBe(true); // the key is there, the value not
    store = openStore(path.join(dir, 'state.db'));
  });
});
