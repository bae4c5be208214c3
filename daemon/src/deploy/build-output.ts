/**
 * What an image build says, as the deploy pipeline keeps it: the build API's messages
 * (`json-lines.ts`) turned into output lines — a `stream` text cut anywhere is joined back
 * into whole lines, empty ones dropped —, the last lines (for a `BuildFailure`), the error the
 * engine reported, the builder's container of the step running now (so that a cancelled
 * build can remove it), and the Dockerfile step running last with what it printed (the step
 * that failed, when the build fails), numbered as in the user's Dockerfile: the steps the
 * generated Dockerfile adds (`generated`) are not counted.
 */
import type { BuildMessage } from './json-lines';

/** A step of the classic builder's output: `Step 3/7 : RUN npm install`. */
const STEP_LINE = /^Step \d+\/\d+ : (.*)$/;
/** What the builder says about its own containers and layers, not the step's output. */
const BUILDER_NOISE = /^\s*(---> |Removing intermediate container )/;
/** How many output lines of the running step are kept. */
const STEP_OUTPUT = 8;

/** A Dockerfile step, numbered as in the user's Dockerfile, with the last lines it printed. */
export interface BuildStep {
  readonly number: number;
  readonly instruction: string;
  readonly output: readonly string[];
}

/** How many build lines a BuildFailure keeps. */
export const BUILD_TAIL = 12;

export class BuildOutput {
  private readonly tail: string[] = [];
  /** The text of a `stream` message after its last newline, continued by the next one. */
  private partial = '';
  private engineError: string | undefined;
  private step: string | undefined;
  private steps = 0;
  private running: { number: number; instruction: string; output: string[] } | undefined;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly tailLength = BUILD_TAIL,
    /** Whether a step's instruction is one the generated Dockerfile added (not the user's). */
    private readonly generated: (instruction: string) => boolean = () => false,
  ) {}

  /** Takes one message of the build API's answer. */
  readonly take = (message: BuildMessage): void => {
    const failure = message.errorDetail?.message ?? message.error;
    if (failure) {
      this.engineError = failure.trim();
      return;
    }
    if (typeof message.stream === 'string') {
      const lines = (this.partial + message.stream).split(/\r?\n/);
      this.partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.line(line.trimEnd());
    } else if (typeof message.status === 'string') {
      this.line(message.status);
    }
  };

  /** The answer ended: text left after the last newline is the last line. */
  end(): void {
    if (this.partial.trim()) this.line(this.partial.trimEnd());
    this.partial = '';
  }

  /** The error the engine reported, if it reported one. */
  get error(): string | undefined {
    return this.engineError;
  }

  /** The builder's container of the step running now (" ---> Running in <id>"), until the step ends. */
  get stepContainer(): string | undefined {
    return this.step;
  }

  /** The last lines, oldest first. */
  lastLines(): string[] {
    return [...this.tail];
  }

  /** The user's Dockerfile step that began last (the failing one, after a failure), if any began. */
  get lastStep(): BuildStep | undefined {
    return this.running && { ...this.running, output: [...this.running.output] };
  }

  private line(line: string): void {
    this.tail.push(line);
    if (this.tail.length > this.tailLength) this.tail.shift();
    const begun = STEP_LINE.exec(line);
    if (begun) {
      const instruction = begun[1]!.trim();
      if (!this.generated(instruction)) this.running = { number: ++this.steps, instruction, output: [] };
    } else if (this.running && !BUILDER_NOISE.test(line)) {
      this.running.output.push(line);
      if (this.running.output.length > STEP_OUTPUT) this.running.output.shift();
    }
    const running = /^\s*---> Running in ([0-9a-f]{12,64})\s*$/.exec(line);
    if (running) this.step = running[1];
    else if (/^\s*(Removing intermediate container|---> [0-9a-f]{12})/.test(line)) this.step = undefined;
    this.onLine(line);
  }
}
