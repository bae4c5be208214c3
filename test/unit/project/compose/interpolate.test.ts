/**
 * Interpolation as docker compose does it, before validation: every form of substitution,
 * `.env` of the project folder first and then the daemon's environment, a missing required
 * variable reported at its exact line, env_file read relative to the compose file and only
 * inside the repository.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { interpolateString } from '../../../../daemon/src/project/compose/interpolate';
import { parseEnvFile } from '../../../../daemon/src/project/compose/env-file';
import { loadProject } from '../../../../daemon/src/project/load';
import { composeRepo, problemsOf, removeRepos, warningsOf } from './compose-repo';

afterAll(removeRepos);

const vars: Record<string, string> = { SET: 'value', EMPTY: '' };
const lookup = (name: string) => vars[name];
const expand = (text: string) => interpolateString(text, lookup).value;

describe('interpolateString', () => {
  it('substitutes $VAR, ${VAR} and keeps $$ as a literal $', () => {
    expect(expand('a $SET b ${SET}c $$SET $$ ${UNSET}')).toBe('a value b valuec $SET $ ');
    expect(interpolateString('${UNSET} $ALSO_UNSET', lookup).unset).toEqual(['UNSET', 'ALSO_UNSET']);
  });

  it('applies defaults: :- for unset or empty, - for unset only', () => {
    expect(expand('${UNSET:-d} ${EMPTY:-d} ${SET:-d}')).toBe('d d value');
    expect(expand('${UNSET-d} ${EMPTY-d} ${SET-d}')).toBe('d  value');
    expect(expand('${UNSET:-${SET}-x}')).toBe('value-x');
  });

  it('replaces with :+ when set and not empty, + when set', () => {
    expect(expand('${SET:+on} ${EMPTY:+on} ${UNSET:+on}')).toBe('on  ');
    expect(expand('${EMPTY+on} ${UNSET+on}')).toBe('on ');
  });

  it('fails on :? when unset or empty and on ? when unset, with the message', () => {
    expect(() => expand('${UNSET:?give it}')).toThrow('required variable UNSET is not set: give it');
    expect(() => expand('${EMPTY:?give it}')).toThrow('required variable EMPTY is empty: give it');
    expect(expand('${EMPTY?give it}')).toBe('');
    expect(() => expand('${UNSET?}')).toThrow(/^required variable UNSET is not set$/);
    expect(expand('${SET:?x}')).toBe('value');
  });

  it('refuses a malformed ${', () => {
    expect(() => expand('${SET')).toThrow('without its closing "}"');
    expect(() => expand('${}')).toThrow('does not start with a variable name');
    expect(() => expand('${SET%x}')).toThrow('is not a substitution compose knows');
  });
});

describe('parseEnvFile', () => {
  it('reads KEY=value, export, comments, quotes, keys alone, interpolation of earlier keys', () => {
    const text = [
      '# comment',
      'A=1',
      'export B = two words # trailing comment',
      "C='${A} literal'",
      'D="line\\nnext ${A}"',
      'E=${A}${SET}',
      'SET',
      'F="multi',
      'line"',
      '',
    ].join('\n');
    const { vars: read, problems } = parseEnvFile(text, lookup);
    expect(problems).toEqual([]);
    expect(Object.fromEntries(read)).toEqual({ A: '1', B: 'two words', C: '${A} literal', D: 'line\nnext 1', E: '1value', SET: 'value', F: 'multi\nline' });
  });

  it('names the line of a bad key or an unclosed quote', () => {
    expect(parseEnvFile('OK=1\n1BAD=2\nQ="open\n', lookup).problems).toEqual([
      { line: 2, message: '"1BAD" is not a variable name: letters, digits and "_", not starting with a digit' },
      { line: 3, message: 'the value of Q has no closing "' },
    ]);
  });
});

describe('interpolation of compose files', () => {
  afterEach(() => {
    delete process.env.BB_TEST_FROM_ENV;
  });

  it('takes .env first, then the daemon environment', () => {
    process.env.BB_TEST_FROM_ENV = 'process';
    const dir = composeRepo({
      '.env': 'TAG=from-dotenv\nBB_TEST_FROM_ENV=dotenv-wins\n',
      'compose.yaml': 'services:\n  web:\n    image: app:${TAG}\n    environment:\n      A: ${BB_TEST_FROM_ENV}\n      B: $${NOT_EXPANDED}\n',
    });
    const web = loadProject(dir).services.web!;
    expect(web.build).toEqual({ kind: 'image', image: 'app:from-dotenv' });
    expect(web.env).toEqual({ A: 'dotenv-wins', B: '${NOT_EXPANDED}' });
    process.env.BB_TEST_FROM_ENV = 'process';
    const noDotEnv = composeRepo({ 'compose.yaml': 'services:\n  web:\n    image: a\n    environment: [A=$BB_TEST_FROM_ENV]\n' });
    expect(loadProject(noDotEnv).services.web!.env).toEqual({ A: 'process' });
  });

  it('reports a missing ${VAR:?err} at its exact line, and warns of an unset variable', () => {
    const dir = composeRepo({
      'compose.yaml': 'services:\n  web:\n    image: a\n    environment:\n      OK: x\n      DB: ${BB_TEST_MISSING:?set the database password}\n',
    });
    expect(problemsOf(dir)).toEqual([
      'compose.yaml:6:11 services.web.environment.DB: required variable BB_TEST_MISSING is not set: set the database password',
    ]);
    const warned = composeRepo({ 'compose.yaml': 'services:\n  web:\n    image: a\n    command: echo ${BB_TEST_MISSING}\n' });
    expect(warningsOf(warned)).toEqual(['compose.yaml:4:14 services.web.command: variable BB_TEST_MISSING is not set: an empty string is used']);
  });

  it('reports a bad .env line at its line', () => {
    const dir = composeRepo({ '.env': 'OK=1\nnot a key=2\n', 'compose.yaml': 'services:\n  web:\n    image: a\n' });
    expect(problemsOf(dir)).toEqual(['.env:2:1 : "not a key" is not a variable name: letters, digits and "_", not starting with a digit']);
  });

  it('reads env_file relative to the compose file, environment over it, a key alone from .env', () => {
    const dir = composeRepo({
      '.env': 'FROM_DOTENV=d\n',
      'deploy/compose.yaml': 'services:\n  web:\n    image: a\n    env_file: [web.env, { path: optional.env, required: false }]\n    environment:\n      B: from-environment\n      FROM_DOTENV:\n',
      'deploy/web.env': 'A=from-file\nB=from-file\n',
      'branchbox.yaml': 'version: 1\ncompose: [deploy/compose.yaml]\n',
    });
    // .env is read from the project folder: the first compose file's
    expect(loadProject(dir).services.web!.env).toEqual({ A: 'from-file', B: 'from-environment' });
  });

  it('refuses an env_file outside the repository or missing, at its line', () => {
    const dir = composeRepo({
      'compose.yaml': 'services:\n  web:\n    image: a\n    env_file:\n      - ../outside.env\n      - missing.env\n',
    });
    const problems = problemsOf(dir);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^compose\.yaml:5:9 services\.web\.env_file\.0: env_file .*outside\.env is outside the repository/);
    expect(problems[1]).toBe('compose.yaml:6:9 services.web.env_file.1: env_file missing.env does not exist');
  });
});
