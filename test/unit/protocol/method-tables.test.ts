import { describe, expect, it } from 'vitest';
import { mergeTables } from '../../../schemas/src/core';
import { methods, notifications } from '../../../schemas/src';
import { daemonMethods } from '../../../schemas/src/daemon';
import { dockerMethods } from '../../../schemas/src/docker';
import { sandboxNotifications } from '../../../schemas/src/sandbox';

describe('the protocol tables', () => {
  it('a method two namespaces declare is an error, not a silent override', () => {
    const again = { initialize: dockerMethods['container/list'] };
    expect(() => mergeTables('method', daemonMethods, dockerMethods, again)).toThrow(
      'the method "initialize" is declared twice in the protocol',
    );
  });

  it('a notification two namespaces declare is an error too', () => {
    const [name] = Object.keys(sandboxNotifications);
    expect(() => mergeTables('notification', sandboxNotifications, { ...sandboxNotifications })).toThrow(
      `the notification "${name}" is declared twice in the protocol`,
    );
  });

  it('merges distinct tables keeping every entry, in order', () => {
    const merged = mergeTables('method', daemonMethods, dockerMethods);
    expect(Object.keys(merged)).toEqual([...Object.keys(daemonMethods), ...Object.keys(dockerMethods)]);
    expect(merged['container/list']).toBe(dockerMethods['container/list']);
  });

  it('the assembled tables hold the sandbox methods and notifications', () => {
    expect(methods['initialize']).toBe(daemonMethods['initialize']);
    expect(Object.keys(notifications)).toEqual(expect.arrayContaining(Object.keys(sandboxNotifications)));
  });
});
