/**
 * One log line into DOM nodes: ANSI colours (ansi_up, as classes where it can; the rest of
 * its inline styles moved to the CSSOM, which the CSP allows), or, when the line matches the
 * search, its plain text with the matches marked.
 */
import { AnsiUp } from 'ansi_up';
import { clock } from '../shared/clock';
import { plainText } from './view';

/** Fills `target` with `text`, its ANSI colours applied. */
export function renderAnsi(target: HTMLElement, text: string): void {
  if (!text.includes('\u001b')) {
    target.textContent = text;
    return;
  }
  const ansi = new AnsiUp();
  ansi.use_classes = true;
  // Inline style attributes are blocked by the CSP; carry them in data-s and apply them below.
  target.innerHTML = ansi.ansi_to_html(text).replace(/ style="/g, ' data-s="');
  for (const span of target.querySelectorAll<HTMLElement>('[data-s]')) {
    span.style.cssText = span.dataset.s ?? '';
    delete span.dataset.s;
  }
}

/** Fills `target` with the plain text of `text`, `ranges` wrapped in <mark> (the current match in mark.current). */
export function renderMarked(target: HTMLElement, text: string, ranges: readonly [number, number][], current: boolean): void {
  const plain = plainText(text);
  target.textContent = '';
  let at = 0;
  for (const [start, end] of ranges) {
    if (start > at) target.append(plain.slice(at, start));
    const mark = document.createElement('mark');
    if (current) mark.className = 'current';
    mark.textContent = plain.slice(start, end);
    target.append(mark);
    at = end;
  }
  if (at < plain.length) target.append(plain.slice(at));
}

/** A line's timestamp as the panel's clock writes it (`2026-12-06 18:29:48.123`, or 12-hour where the locale counts so). */
export function formatTime(ts: number): string {
  return clock().stamp(ts);
}
