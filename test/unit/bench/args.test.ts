/** bench/lib/args.ts: every bench's options, parsed one way, `--quick` included. */
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../../../bench/lib/args';

const spec = {
  options: {
    rounds: { full: 5, quick: 2, help: 'rounds' },
    'in-flight': { full: 64, quick: 16, help: 'requests outstanding' },
  },
  flags: { 'docker-compose-only': 'the reference alone' },
};

describe('parseArgs', () => {
  it('gives the full-run values without options', () => {
    const args = parseArgs([], spec);
    expect(args.quick).toBe(false);
    expect(args.options).toEqual({ rounds: 5, 'in-flight': 64 });
    expect(args.flags.size).toBe(0);
  });

  it('gives the quick values under --quick', () => {
    const args = parseArgs(['--quick'], spec);
    expect(args.quick).toBe(true);
    expect(args.options).toEqual({ rounds: 2, 'in-flight': 16 });
  });

  it('lets an option given win over --quick, as "--name N" or "--name=N", in any order', () => {
    expect(parseArgs(['--rounds', '3', '--quick'], spec).options).toEqual({ rounds: 3, 'in-flight': 16 });
    expect(parseArgs(['--quick', '--in-flight=8'], spec).options).toEqual({ rounds: 2, 'in-flight': 8 });
  });

  it('reads the flags the bench declares', () => {
    expect([...parseArgs(['--docker-compose-only', '--quick'], spec).flags]).toEqual(['docker-compose-only']);
  });

  it('refuses positional values (the old way), unknown options and flags of other benches', () => {
    expect(() => parseArgs(['5000'], spec)).toThrow(UsageError);
    expect(() => parseArgs(['--sequential', '5'], spec)).toThrow(/unknown option "--sequential"[\s\S]*--rounds N/);
    expect(() => parseArgs(['--docker-compose-only'], { options: spec.options })).toThrow(UsageError);
  });

  it('refuses a missing, non-numeric or non-positive value', () => {
    expect(() => parseArgs(['--rounds'], spec)).toThrow(/--rounds needs a positive number, got nothing/);
    expect(() => parseArgs(['--rounds', 'many'], spec)).toThrow(/got "many"/);
    expect(() => parseArgs(['--rounds=0'], spec)).toThrow(UsageError);
    expect(() => parseArgs(['--rounds='], spec)).toThrow(UsageError);
  });
});
