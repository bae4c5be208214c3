/**
 * The one clock of the panels: a time of day written as VS Code's display language writes it
 * (its 12- or 24-hour cycle, its separators), for log timestamps, chart axes, chart legends and
 * the Stats figures alike. The locale is chosen once per panel, from the `init` message.
 */

/** A time of day as the locale writes it: `18:29:48` (de, en-GB) or `06:29:48 PM` (en, en-US). */
export class Clock {
  private readonly timeFormat: Intl.DateTimeFormat;
  private readonly stampFormat: Intl.DateTimeFormat;
  private readonly dateFormat: Intl.DateTimeFormat;

  /** `timeZone` is for tests; panels use the machine's. */
  constructor(locale?: string, timeZone?: string) {
    const zone = timeZone ? { timeZone } : {};
    const time: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', second: '2-digit', ...zone };
    this.timeFormat = new Intl.DateTimeFormat(locale, time);
    this.stampFormat = new Intl.DateTimeFormat(locale, { ...time, fractionalSecondDigits: 3 });
    this.dateFormat = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', ...zone });
  }

  /** The locale actually used (the runtime's fallback when the one asked for is unknown). */
  get locale(): string {
    return this.timeFormat.resolvedOptions().locale;
  }

  /** Whether this locale counts hours to 12 with AM/PM. */
  get hour12(): boolean {
    return this.timeFormat.resolvedOptions().hour12 === true;
  }

  /** Hours, minutes and seconds of `ms` (since the epoch): chart axes, legends, figures. */
  time(ms: number): string {
    return Number.isFinite(ms) ? this.timeFormat.format(ms) : '';
  }

  /** A log line's timestamp: the date (`2026-12-06`, year first in every locale) and the time to the millisecond. */
  stamp(ms: number): string {
    if (!ms || !Number.isFinite(ms)) return '—';
    return `${this.dateFormat.format(ms)} ${this.stampFormat.format(ms)}`;
  }
}

/**
 * The locale to write times in: VS Code's display language, or, when that names only a
 * language (`en`), the first of the browser's languages in the same language with a region
 * (`en-GB`), whose conventions are then the user's. Unknown or malformed tags are skipped.
 */
export function clockLocale(displayLanguage: string | undefined, browserLanguages: readonly string[] = []): string | undefined {
  const display = canonical(displayLanguage);
  const browser = browserLanguages.map(canonical).filter((l): l is string => l !== undefined);
  if (!display) return browser[0];
  if (display.includes('-')) return display;
  const language = display.toLowerCase();
  return browser.find((l) => l.toLowerCase().startsWith(`${language}-`)) ?? display;
}

function canonical(tag: string | undefined): string | undefined {
  if (!tag) return undefined;
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

const browserLanguages = (): readonly string[] => (typeof navigator === 'undefined' ? [] : (navigator.languages ?? [navigator.language]));

let current = new Clock(clockLocale(undefined, browserLanguages()));

/** The panel's clock. */
export function clock(): Clock {
  return current;
}

/** Follows VS Code's display language (from `init`; absent: the browser's language). */
export function useDisplayLanguage(displayLanguage: string | undefined): Clock {
  current = new Clock(clockLocale(displayLanguage, browserLanguages()));
  return current;
}
