/** Formatters of the CLI's text output and the parsing of duration flags. */
import { describe, expect, it } from 'vitest';
import { ago, auditDetail, bytes, duration, parseDuration, ports, shortId } from '../../../daemon/src/cli/format';
import { Output, truncateVisible, visibleLength } from '../../../daemon/src/cli/output';

describe('formatters', () => {
  it('durations', () => {
    expect([250, 1500, 59_900, 61_000, 3_600_000 + 120_000].map(duration)).toEqual(['250ms', '1.5s', '59.9s', '1m01s', '1h02m']);
  });

  it('ages, from an injectable now', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(ago('2024-05-01T11:59:30Z', now)).toBe('30s ago');
    expect(ago('2024-05-01T11:00:00Z', now)).toBe('1h ago');
    expect(ago('2024-04-28T12:00:00Z', now)).toBe('3d ago');
    expect(ago(undefined, now)).toBe('');
  });

  it('sizes, ids and ports', () => {
    expect([0, 89.6, 2048, 5 * 1024 ** 3].map(bytes)).toEqual(['0B', '90B', '2.0KiB', '5.0GiB']);
    expect(shortId('sha256:0123456789abcdef0123')).toBe('0123456789ab');
    expect(ports([{ container: 8080, host: 42001, hostIp: '127.0.0.1', protocol: 'tcp' }, { container: 53, protocol: 'udp' }])).toBe(
      '127.0.0.1:42001->8080/tcp, 53/udp',
    );
  });

  it("an audit entry's detail on one line", () => {
    expect(auditDetail({ ref: 'feature/x', services: ['web', 'api'], ttl: { idle: '3d' }, removed: true })).toBe(
      'ref=feature/x services=web, api ttl={"idle":"3d"} removed=true',
    );
    expect(auditDetail(undefined)).toBe('');
  });

  it('parses duration flags with the grammar of branchbox.yaml and the protocol', () => {
    expect(['90s', '5m', '1h', '500ms'].map(parseDuration)).toEqual([90_000, 300_000, 3_600_000, 500]);
    // Refused by the CLI before, accepted by --ttl and branchbox.yaml: one grammar now.
    expect(['3d', '1w'].map(parseDuration)).toEqual([259_200_000, 604_800_000]);
    // Accepted by the CLI before, refused by --ttl and branchbox.yaml: one grammar now.
    expect(['90', '1.5s'].map(parseDuration)).toEqual([undefined, undefined]);
    expect(parseDuration('soon')).toBeUndefined();
  });
});

describe('output', () => {
  const capture = (format: 'json' | 'text', color = false) => {
    let text = '';
    return { out: new Output(format, { write: (t: string) => (text += t) }, color), text: () => text };
  };

  it('prints exactly the result as JSON, or through the text renderer', () => {
    const json = capture('json');
    json.out.result({ containers: [] }, () => json.out.line('never'));
    expect(JSON.parse(json.text())).toEqual({ containers: [] });
    const text = capture('text');
    text.out.result({ containers: [] }, () => text.out.line('no containers'));
    expect(text.text()).toBe('no containers\n');
  });

  it('prints stream items one JSON document per line', () => {
    const json = capture('json');
    json.out.item({ line: 'a' }, () => undefined);
    json.out.item({ line: 'b' }, () => undefined);
    expect(json.text()).toBe('{"line":"a"}\n{"line":"b"}\n');
  });

  it('aligns tables by what is visible, colours included', () => {
    const t = capture('text', true);
    t.out.table([{ a: 'x', b: t.out.style.green('running') }, { a: 'longer', b: 'exited' }], [
      { header: 'NAME', value: (r) => r.a },
      { header: 'STATE', value: (r) => r.b },
    ]);
    const lines = t.text().split('\n').map((l) => l.replace(/\x1b\[[0-9;]*m/g, '')); // eslint-disable-line no-control-regex
    expect(lines.slice(0, 3)).toEqual(['NAME    STATE', 'x       running', 'longer  exited']);
  });

  it('measures and cuts coloured text by its visible characters', () => {
    const red = '\x1b[31mhello\x1b[39m world';
    expect(visibleLength(red)).toBe(11);
    expect(truncateVisible(red, 3).text).toBe('\x1b[31mhel\x1b[39m');
  });
});
