import { describe, expect, it } from 'vitest';
import { DEFAULT_PORT, UsageError, parseOptions } from '../../daemon/src/config';
import { defaultStateDir } from '../../schemas/node/state-dir';

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

  it('reads gateway, port ranges and extra labels from flags or the environment', () => {
    const env = { BRANCHBOX_SERVICE_PORTS: '44000-44199', BRANCHBOX_GATEWAY_PORTS: '', BRANCHBOX_EXTRA_LABELS: 'branchbox.test=run1, team = qa' };
    expect(parseOptions([], env)).toMatchObject({
      sharedGatewayPort: 41080,
      sharedGatewayPortIsDefault: true,
      portRanges: { service: { from: 44000, to: 44199 } },
      extraLabels: { 'branchbox.test': 'run1', team: 'qa' },
    });
    expect(parseOptions(['--gateway-port', 'off', '--gateway-ports', '41500-41510', '--label', 'a=b'], {})).toMatchObject({
      sharedGatewayPort: null,
      portRanges: { gateway: { from: 41500, to: 41510 } },
      extraLabels: { a: 'b' },
    });
    expect(() => parseOptions([], { BRANCHBOX_GATEWAY_PORTS: '5-2' })).toThrow('BRANCHBOX_GATEWAY_PORTS: "5-2" is not a port range');
    expect(() => parseOptions(['--label', 'nokey'], {})).toThrow(/must be key=value/);
  });
});
