import { describe, expect, it } from 'vitest';
import { nameProblem, validateEnvKey, validateSandboxName } from '../../../daemon/src/sandbox/names';

describe('sandbox names (DNS labels)', () => {
  it.each(['a', 'qa1', 'feature-x', '0', 'a'.repeat(40), 'x-1-y'])('accepts %j', (name) => {
    expect(nameProblem(name)).toBeUndefined();
    expect(() => validateSandboxName(name)).not.toThrow();
  });

  it.each<[string, RegExp]>([
    ['', /it is empty/],
    ['a'.repeat(41), /it has 41 characters, at most 40/],
    ['Feature', /contains "F" \(use lowercase\)/],
    ['my_box', /contains "_"/],
    ['a.b', /contains "\."/],
    ['a b', /contains " "/],
    ['-a', /starts or ends with "-"/],
    ['a-', /starts or ends with "-"/],
    ['x;rm', /contains ";"/],
  ])('rejects %j with InvalidName saying why', (name, why) => {
    expect(() => validateSandboxName(name)).toThrow(
      expect.objectContaining({ errorName: 'InvalidName', message: expect.stringMatching(why) }),
    );
    expect(() => validateSandboxName(name)).toThrow(/Names are lowercase a-z, 0-9 and "-", 1 to 40 characters/);
  });
});

describe('environment keys', () => {
  it.each(['A', '_', 'LOG_LEVEL', 'a1', 'x_Y_2'])('accepts %j', (key) =>
    expect(() => validateEnvKey(key)).not.toThrow(),
  );
  it.each(['', '1A', 'A-B', 'A B', 'A=B', 'é'])('rejects %j', (key) => {
    expect(() => validateEnvKey(key)).toThrow(
      expect.objectContaining({ errorName: 'InvalidName', message: expect.stringMatching(/Invalid environment key/) }),
    );
  });
});
