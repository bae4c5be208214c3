/**
 * The panels' one clock: the hour cycle and separators of the display language, the same rule
 * for a log line's timestamp and a chart's time, and the locale picked from VS Code's display
 * language and the browser's languages.
 */
import { describe, expect, it } from 'vitest';
import { Clock, clock, clockLocale, useDisplayLanguage } from '../../../webviews/src/shared/clock';
import { formatTime } from '../../../webviews/src/logs/render-line';

const AT = Date.UTC(2026, 11, 6, 18, 29, 48, 123);

describe('Clock', () => {
  it('writes 24-hour times where the locale does', () => {
    const c = new Clock('de', 'UTC');
    expect(c.hour12).toBe(false);
    expect(c.time(AT)).toBe('18:29:48');
    expect(c.stamp(AT)).toBe('2026-12-06 18:29:48,123');
    expect(new Clock('en-GB', 'UTC').time(AT)).toBe('18:29:48');
  });

  it('writes 12-hour times where the locale does, logs and charts alike', () => {
    const c = new Clock('en-US', 'UTC');
    expect(c.hour12).toBe(true);
    expect(c.time(AT)).toBe('06:29:48 PM');
    expect(c.stamp(AT)).toBe('2026-12-06 06:29:48.123 PM');
  });

  it('takes the time zone for the date as well as the time', () => {
    expect(new Clock('de', 'Asia/Tokyo').stamp(AT)).toBe('2026-12-07 03:29:48,123');
  });

  it('says a missing timestamp is missing', () => {
    const c = new Clock('de', 'UTC');
    expect(c.stamp(0)).toBe('—');
    expect(c.time(Number.NaN)).toBe('');
  });
});

describe('clockLocale', () => {
  it('is the display language when it names a region', () => {
    expect(clockLocale('en-gb', ['en-US'])).toBe('en-GB');
    expect(clockLocale('de', ['fr-FR'])).toBe('de');
  });

  it('takes the region from the browser when the display language names none', () => {
    expect(clockLocale('en', ['fr-FR', 'en-GB', 'en-US'])).toBe('en-GB');
    expect(clockLocale('en', ['en'])).toBe('en');
  });

  it('falls back to the browser, skipping malformed tags', () => {
    expect(clockLocale(undefined, ['not a tag', 'pt-BR'])).toBe('pt-BR');
    expect(clockLocale('%%', ['de-AT'])).toBe('de-AT');
    expect(clockLocale(undefined, [])).toBeUndefined();
  });
});

describe('the panel clock', () => {
  it('follows the display language given at init, for log timestamps too', () => {
    const twentyFour = useDisplayLanguage('de-DE');
    expect(clock()).toBe(twentyFour);
    expect(formatTime(AT)).toMatch(/^2026-12-0[67] \d\d:29:48,123$/);
    useDisplayLanguage('en-US');
    expect(clock().hour12).toBe(true);
    expect(formatTime(AT)).toMatch(/^2026-12-0[67] \d\d:29:48\.123 [AP]M$/);
  });
});
