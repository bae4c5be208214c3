/**
 * What the CLI prints. With `-o json` a command prints exactly the protocol result it got
 * (streams: one item per line, as JSON Lines); with `-o text` (the default) it prints for
 * people: tables, colours when stdout is a terminal and neither `--no-color` nor `NO_COLOR`
 * is set.
 */
export type OutputFormat = 'json' | 'text';

/** Where text goes: process.stdout or stderr, or a buffer in tests. */
export interface TextSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  /** Terminal width, when a terminal. */
  readonly columns?: number;
}

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const ansi = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
const colored: Style = {
  bold: ansi(1, 22),
  dim: ansi(2, 22),
  red: ansi(31, 39),
  green: ansi(32, 39),
  yellow: ansi(33, 39),
  cyan: ansi(36, 39),
};
const identity = (s: string) => s;
const plain: Style = { bold: identity, dim: identity, red: identity, green: identity, yellow: identity, cyan: identity };

// eslint-disable-next-line no-control-regex -- ANSI escapes start with ESC
const ANSI_ESCAPE = /\x1b\[[0-9;]*[A-Za-z]/y;

/** What a coloured text occupies on screen. */
export const visibleLength = (s: string) => truncateVisible(s, Infinity).visible;

/** Cuts `text` to `width` visible characters, keeping its ANSI escapes (so colours still end). */
export function truncateVisible(text: string, width: number): { text: string; visible: number } {
  let visible = 0;
  let result = '';
  for (let i = 0; i < text.length; ) {
    ANSI_ESCAPE.lastIndex = i;
    const esc = ANSI_ESCAPE.exec(text);
    if (esc) {
      result += esc[0];
      i += esc[0].length;
      continue;
    }
    if (visible < width) {
      result += text[i];
      visible++;
    }
    i++;
  }
  return { text: result, visible };
}

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  /** Right-align (numbers). */
  readonly right?: boolean;
}

export class Output {
  readonly style: Style;

  constructor(
    readonly format: OutputFormat,
    readonly stdout: TextSink,
    /** Colours on: stdout is a terminal, neither --no-color nor NO_COLOR. */
    readonly color: boolean,
  ) {
    this.style = color ? colored : plain;
  }

  get json(): boolean {
    return this.format === 'json';
  }

  /** Whether stdout is a terminal that can be redrawn (live displays). */
  get interactive(): boolean {
    return this.stdout.isTTY === true && this.format === 'text';
  }

  /** Prints a protocol result: as JSON, or through `text` for people. */
  result<T>(value: T, text: (value: T) => void): void {
    if (this.json) this.write(`${JSON.stringify(value, null, 2)}\n`);
    else text(value);
  }

  /** Prints one item of a stream: one JSON document per line, or through `text`. */
  item<T>(value: T, text: (value: T) => void): void {
    if (this.json) this.write(`${JSON.stringify(value)}\n`);
    else text(value);
  }

  line(text = ''): void {
    this.write(`${text}\n`);
  }

  write(text: string): void {
    this.stdout.write(text);
  }

  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void {
    const cells = rows.map((row) => columns.map((c) => c.value(row)));
    const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => visibleLength(r[i]!))));
    const pad = (text: string, i: number) => {
      const fill = ' '.repeat(widths[i]! - visibleLength(text));
      return columns[i]!.right ? fill + text : text + fill;
    };
    const render = (r: string[]) => r.map(pad).join('  ').trimEnd();
    this.line(this.style.bold(render(columns.map((c) => c.header))));
    for (const r of cells) this.line(render(r));
  }

  /** `key: value` lines, keys aligned. */
  fields(entries: readonly (readonly [string, string | undefined])[]): void {
    const present = entries.filter((e): e is readonly [string, string] => e[1] !== undefined);
    const width = Math.max(0, ...present.map(([k]) => k.length));
    for (const [k, v] of present) this.line(`${this.style.dim(`${k}:`.padEnd(width + 1))} ${v}`);
  }
}
