import { describe, expect, it } from 'vitest';
import { splitCommand } from '../../../daemon/src/project/argv';
import { cpusToNano, formatDuration, parseDuration, parseSize } from '../../../daemon/src/project/units';

describe('durations', () => {
  it.each([
    ['250ms', 250],
    ['5s', 5_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['3d', 259_200_000],
    ['1w', 604_800_000],
    ['0s', 0],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['5', 's', '5 s', '1.5h', '-1s', '3 days', '5S', ''])('rejects %j naming the rule', (text) => {
    expect(() => parseDuration(text)).toThrow(/is not a duration: write a whole number and a unit/);
  });

  it('formats back with the largest exact unit', () => {
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(172_800_000)).toBe('2d');
    expect(formatDuration(1500)).toBe('1500ms');
  });
});

describe('sizes', () => {
  it.each<[string | number, number]>([
    ['256m', 256 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1G', 1024 ** 3],
    ['1GiB', 1024 ** 3],
    ['512mb', 512 * 1024 ** 2],
    ['1.5g', 1.5 * 1024 ** 3],
    ['64k', 65_536],
    ['100b', 100],
    ['100', 100],
    [4096, 4096],
  ])('%j is %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['12x', 'm', '1 g b', '-1m', '1gbb', '1bib'])('rejects %j', (text) => {
    expect(() => parseSize(text)).toThrow(/is not a size/);
  });

  it('rejects negative and fractional byte counts', () => {
    expect(() => parseSize(-1)).toThrow(/not a size/);
    expect(() => parseSize(1.5)).toThrow(/not a size/);
  });

  it('converts CPUs to nano CPUs', () => {
    expect(cpusToNano(0.5)).toBe(500_000_000);
    expect(cpusToNano(2)).toBe(2_000_000_000);
    expect(() => cpusToNano(0)).toThrow(/not a number of CPUs/);
  });
});

describe('splitCommand (no shell)', () => {
  it.each<[string, string[]]>([
    ['go build -o app .', ['go', 'build', '-o', 'app', '.']],
    ['  npm   run build  ', ['npm', 'run', 'build']],
    [`sh -c 'echo "hi there"'`, ['sh', '-c', 'echo "hi there"']],
    [`echo "a \\"quoted\\" word" 'single $HOME'`, ['echo', 'a "quoted" word', 'single $HOME']],
    ['make a\\ b', ['make', 'a b']],
    [`x ''`, ['x', '']],
    [`pre"mid"post`, ['premidpost']],
    // Shell metacharacters are plain characters of their argument: nothing is piped, chained or expanded.
    [
      'build; rm -rf / && echo $(id) | tee >out `x` *',
      ['build;', 'rm', '-rf', '/', '&&', 'echo', '$(id)', '|', 'tee', '>out', '`x`', '*'],
    ],
    [`echo "$HOME" \${PATH}`, ['echo', '$HOME', '${PATH}']],
  ])('%j', (line, argv) => expect(splitCommand(line)).toEqual(argv));

  it('rejects unterminated quotes, a trailing backslash and an empty command', () => {
    expect(() => splitCommand(`echo 'oops`)).toThrow(/unterminated single quote at character 6/);
    expect(() => splitCommand('echo "oops')).toThrow(/unterminated double quote/);
    expect(() => splitCommand('echo \\')).toThrow(/lone backslash/);
    expect(() => splitCommand('   ')).toThrow(/empty/);
  });
});
