import { describe, expect, it } from 'vitest';
import { DEFAULT_PORT, UsageError, defaultStateDir, parseOptions } from '../../daemon/src/config';

describe('branchboxd options', () => {
  it('defaults to the XDG state dir and the documented port with fallback', () => {
    const opts = parseOptions([], { XDG_STATE_HOME: '/x/state' });
    expect(opts).toMatchObject({ stateDir: '/x/state/branchbox', port: DEFAULT_PORT, portIsDefault: true, stdio: false });
    expect(defaultStateDir({ HOME: '/h' })).toMatch(/\.local\/state\/branchbox$/);
  });

  it('takes flags over environment variables', () => {
    const env = { BRANCHBOX_STATE_DIR: '/env/dir', BRANCHBOX_PORT: '5000', BRANCHBOX_ALLOWED_ORIGINS: 'http://a, http://b' };
    expect(parseOptions([], env)).toMatchObject({ stateDir: '/env/dir', port: 5000, portIsDefault: false });
    const opts = parseOptions(['--state-dir', '/flag', '--port', '0', '--allow-origin', 'http://c', '--stdio'], env);
    expect(opts).toMatchObject({ stateDir: '/flag', port: 0, stdio: true, allowedOrigins: ['http://a', 'http://b', 'http://c'] });
  });

  it('rejects bad values with a usage error naming the option', () => {
    expect(() => parseOptions(['--port', '70000'], {})).toThrow(/--port: "70000" is not a port/);
    expect(() => parseOptions([], { BRANCHBOX_PORT: 'x' })).toThrow(/BRANCHBOX_PORT/);
    expect(() => parseOptions(['--log-level', 'loud'], {})).toThrow(UsageError);
    expect(() => parseOptions(['--bogus'], {})).toThrow(UsageError);
  });

  it('answers --help and --version', () => {
    expect(parseOptions(['--help'], {})).toBe('help');
    expect(parseOptions(['--version'], {})).toBe('version');
  });
});
