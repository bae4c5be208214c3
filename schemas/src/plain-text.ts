/**
 * Text from a terminal (build output, a container's log, a diagnosis quoting them) made fit
 * for places that are not a terminal: toasts, tooltips, tables, documents, the panels. ANSI
 * escape sequences (colours, cursor moves, hyperlinks) are removed by `strip-ansi`; what other
 * control characters are left (a lone ESC, BEL, a carriage return) become spaces.
 */
import stripAnsi from 'strip-ansi';

// eslint-disable-next-line no-control-regex -- the C0 and C1 controls and DEL, but not tab and newline
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `text` without ANSI escape sequences or other control characters; tabs and newlines are kept. */
export function plainText(text: string): string {
  return stripAnsi(text).replace(CONTROLS, ' ');
}

/** `text` as one plain line: {@link plainText}, every run of white space (newlines too) one space, trimmed. */
export function plainLine(text: string): string {
  return plainText(text).replace(/\s+/g, ' ').trim();
}
