/**
 * branchboxd's flags are documented wherever they are listed: the one table the parser reads
 * (daemon/src/flags.ts) is what `--help` prints and what the README's table of flags lists,
 * each with its environment variable.
 */
import { describe, expect, it } from 'vitest';
import { USAGE, UsageError, parseOptions } from '../../../daemon/src/config';
import { DAEMON_FLAGS, flagSynopsis, usage, type FlagSpec } from '../../../daemon/src/flags';
import { firstCellCodes, readDoc } from './markdown';

const flags = Object.entries(DAEMON_FLAGS) as [string, FlagSpec][];
const readmeRows = firstCellCodes(readDoc('README.md')).filter((r) => r.code.startsWith('--'));

/** The message the parser gives for a flag: an unknown one says so. */
function parseMessage(argv: string[]): string {
  try {
    parseOptions(argv, {});
    return '';
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
}

describe('the daemon flags', () => {
  it.each(flags)('--%s is parsed', (name, flag) => {
    const argv = flag.type === 'boolean' ? [`--${name}`] : [`--${name}`, '1'];
    expect(parseMessage(argv)).not.toMatch(/Unknown option/);
  });

  it('a flag not in the table is refused (so the check above can fail)', () => {
    expect(parseMessage(['--not-a-flag'])).toMatch(/Unknown option '--not-a-flag'/);
  });

  it.each(flags)('--%s is in --help with its environment variable', (name, flag) => {
    expect(USAGE).toContain(`  ${flagSynopsis(name, flag)} `.trimEnd());
    if (flag.env) expect(USAGE.replace(/\s+/g, ' ')).toContain(`(env ${flag.env})`);
  });

  it('--help says every value it is made of', () => {
    expect(USAGE).not.toMatch(/undefined|NaN|\[object/);
  });

  it('--help names a flag added to the table', () => {
    const help = usage({ ...DAEMON_FLAGS, 'new-flag': { type: 'string', value: 'X', env: 'BRANCHBOX_NEW', help: 'something new' } });
    expect(help).toMatch(/ {2}--new-flag X +something new \(env BRANCHBOX_NEW\)/);
  });

  it.each(flags)('--%s is in the README table with its environment variable', (name, flag) => {
    const row = readmeRows.find((r) => r.code === flagSynopsis(name, flag));
    expect(row, `README.md has no row for \`${flagSynopsis(name, flag)}\``).toBeDefined();
    if (flag.env) expect(row!.row[1]).toContain(`\`${flag.env}\``);
    else expect(row!.row[1]).toBe('');
  });

  it('the README table lists no flag the daemon does not parse', () => {
    const known = flags.map(([name, flag]) => flagSynopsis(name, flag));
    expect(readmeRows.map((r) => r.code).filter((code) => !known.includes(code))).toEqual([]);
  });
});
