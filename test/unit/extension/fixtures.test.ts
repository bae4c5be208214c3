/**
 * The recorded protocol messages the extension's tests replay (`fixtures/*.json`) are what the
 * daemon may send today: every request's params, result and notification is valid against
 * the current schemas in `schemas/src`. A schema change that a recording no longer fits fails
 * here, so the recording is made again rather than tests running against an old protocol.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resultViolations, validateParams } from '../../../daemon/src/rpc/validation';
import { methods, notifications, type MethodName, type NotificationName } from '../../../schemas/src/index';

const FIXTURES = join(__dirname, 'fixtures');

/** One recorded message: a request's params and its result, or a notification's params. */
type Recorded =
  | { readonly kind: 'result'; readonly method: string; readonly params: unknown; readonly result: unknown }
  | { readonly kind: 'notification'; readonly method: string; readonly params: unknown };

/** The messages of each fixture file, in its own shape. */
const readers: Record<string, (json: unknown) => Recorded[]> = {
  // One answer of container/list, as it came over the wire.
  'container-list.json': (json) => [
    { kind: 'result', method: 'container/list', params: {}, result: (json as { result: unknown }).result },
  ],
  // Notifications as they came over the wire.
  'events.json': (json) => (json as { method: string; params: unknown }[]).map((n) => ({ kind: 'notification', ...n })),
  // A session recorded by record-sandbox-session.ts.
  'sandbox-session.json': (json) => json as Recorded[],
};

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const notificationValidators = new Map<string, ValidateFunction>();

function violations(message: Recorded): unknown[] {
  if (message.kind === 'result') {
    if (!(message.method in methods)) return [`${message.method} is not a method of the protocol`];
    const method = message.method as MethodName;
    return [...validateParams(method, message.params), ...resultViolations(method, message.result)];
  }
  if (!(message.method in notifications)) return [`${message.method} is not a notification of the protocol`];
  let validate = notificationValidators.get(message.method);
  if (!validate) {
    validate = ajv.compile(notifications[message.method as NotificationName].params);
    notificationValidators.set(message.method, validate);
  }
  return validate(message.params) ? [] : (validate.errors ?? []);
}

function recorded(file: string): Recorded[] {
  const read = readers[file];
  if (!read) throw new Error(`no reader for the fixture ${file}: add one to ${__filename}`);
  return read(JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')));
}

const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));

describe('recorded protocol fixtures', () => {
  it('are all read here', () => {
    expect(files.sort()).toEqual(Object.keys(readers).sort());
  });

  it.each(files)('%s fits the current schemas', (file) => {
    const messages = recorded(file);
    expect(messages.length).toBeGreaterThan(0);
    const invalid = messages
      .map((m, i) => ({ at: i, method: m.method, violations: violations(m) }))
      .filter((m) => m.violations.length > 0);
    expect(invalid).toEqual([]);
  });
});
