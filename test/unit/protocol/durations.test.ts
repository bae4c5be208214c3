import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { DURATION_PATTERN, parseDuration } from '../../../schemas/src/durations';
import { Duration } from '../../../schemas/src/project';
import { parseDuration as parseFlag } from '../../../daemon/src/cli/format';
import { parseDuration as parseYaml } from '../../../daemon/src/project/units';

/** Texts the CLI, branchbox.yaml and the protocol's schemas read differently before they shared one grammar. */
const DIFFERED = ['3d', '1w', '90', '1.5s', ' 5s ', '0s', '250ms', '5S', '-1s', '5 s'];

describe('the one grammar of durations', () => {
  it.each(DIFFERED)('%j reads the same for the CLI, branchbox.yaml and the schema', (text) => {
    let yaml: number | undefined;
    try {
      yaml = parseYaml(text);
    } catch {
      yaml = undefined;
    }
    expect(parseFlag(text)).toBe(yaml);
    expect(Value.Check(Duration, text.trim())).toBe(yaml !== undefined);
  });

  it('--timeout 3d is three days, as --ttl 3d', () => {
    expect(parseFlag('3d')).toBe(3 * 86_400_000);
    expect(parseDuration('3d')).toBe(3 * 86_400_000);
  });

  it('the schema pattern is the parser\'s', () => {
    expect(Duration.pattern).toBe(DURATION_PATTERN);
    expect(() => parseDuration('1.5s')).toThrow('"1.5s" is not a duration: write a whole number and a unit');
  });
});
