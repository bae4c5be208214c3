/**
 * Encryption at rest of environment secrets: AES-256-GCM with a random 96-bit IV per value,
 * under a 32-byte key kept in `<stateDir>/secret.key` (mode 0600, created on first use).
 * A stored secret reads `v1:<base64 of iv | tag | ciphertext>`; a value that was tampered
 * with, or encrypted under another key, fails to decrypt instead of decrypting wrongly.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { STATE_FILES } from '../../../schemas/node/state-files';

export const SECRET_KEY_FILE = STATE_FILES.secretKey;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = 'v1:';
const AAD = Buffer.from('branchbox/env/v1');

export class SecretBox {
  private key: Buffer | undefined;

  constructor(private readonly stateDir: string) {}

  get keyPath(): string {
    return path.join(this.stateDir, SECRET_KEY_FILE);
  }

  /** Sets an existing key file to mode 0600 (at start: it may come from a looser umask or a copy). */
  protectKeyFile(): void {
    if (process.platform === 'win32') return;
    try {
      fs.chmodSync(this.keyPath, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  encrypt(clear: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.loadKey(), iv);
    cipher.setAAD(AAD);
    const body = Buffer.concat([cipher.update(clear, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  decrypt(stored: string): string {
    if (!stored.startsWith(PREFIX)) throw new Error('This secret is not in a format this daemon knows');
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('This secret is truncated');
    const decipher = createDecipheriv('aes-256-gcm', this.loadKey(), raw.subarray(0, IV_BYTES));
    decipher.setAAD(AAD);
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(
        `A secret cannot be decrypted with ${this.keyPath}: the key file was replaced or the value was damaged`,
      );
    }
  }

  /** The key, read from its file or created there (0600) on first use. */
  private loadKey(): Buffer {
    if (this.key) return this.key;
    const file = this.keyPath;
    let key: Buffer;
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      try {
        if (process.platform !== 'win32') fs.fchmodSync(fd, 0o600);
        key = randomBytes(KEY_BYTES);
        fs.writeSync(fd, key);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      key = fs.readFileSync(file);
      if (key.length !== KEY_BYTES) {
        throw new Error(
          `${file} holds ${key.length} bytes, not a ${KEY_BYTES}-byte key. Restore it from a backup; secrets cannot be read without it.`,
        );
      }
      const mode = fs.statSync(file).mode & 0o777;
      if (mode & 0o077) fs.chmodSync(file, 0o600);
    }
    this.key = key;
    return key;
  }
}
