/**
 * Attach Shell: a VS Code terminal backed by a daemon exec session (exec-session.ts). Its
 * size follows the terminal (`setDimensions` → `exec/resize`); closing the terminal closes
 * the session; the process exiting closes the terminal with its exit code (killed with its container, it says so instead).
 */
import { TextDecoder } from 'node:util';
import * as vscode from 'vscode';
import type { ContainerSummary } from '../../schemas/src/docker';
import type { Connected, Logger } from './connection';
import { openExecSession, type ExecSession } from './exec-session';

export class ExecPseudoterminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private session: ExecSession | undefined;
  private readonly decoder = new TextDecoder('utf-8');
  private pendingInput = '';
  private size: vscode.TerminalDimensions | undefined;
  private ended = false;

  constructor(
    private readonly connected: Connected,
    private readonly container: ContainerSummary,
    private readonly log: Logger,
    /** Resolves true if the container is seen not running (or gone) within a moment of asking. */
    private readonly containerStops: ContainerStopWatch,
  ) {}

  open(initialDimensions: vscode.TerminalDimensions | undefined): void {
    this.size = initialDimensions;
    this.connected.scope.defer(() => this.end('\r\n\x1b[2m[The connection to branchboxd was lost; this shell has ended.]\x1b[0m\r\n'));
    void this.start();
  }

  private async start(): Promise<void> {
    const { container } = this;
    try {
      this.session = await openExecSession(
        this.connected.client,
        { id: container.id, tty: true, ...(this.size ? { cols: this.size.columns, rows: this.size.rows } : {}) },
        {
          onOutput: (data) => this.writeEmitter.fire(this.decoder.decode(data, { stream: true })),
          onExit: (code) => void this.exited(code),
        },
        (e) => this.log.warn(`Shell in ${container.name}: input failed: ${(e as Error).message}`),
      );
      this.log.info(`Attached a shell to ${container.name} (${container.id.slice(0, 12)}), session ${this.session.id.slice(0, 12)}`);
      if (this.ended) return;
      if (this.pendingInput) this.session.write(this.pendingInput);
      this.pendingInput = '';
    } catch (e) {
      const message = (e as Error).message;
      this.log.error(`Could not attach a shell to ${container.name}: ${message}`);
      this.end(`\x1b[31mCould not start a shell in ${container.name}: ${message}\x1b[0m\r\n`);
    }
  }

  handleInput(data: string): void {
    if (this.ended) return;
    if (this.session) this.session.write(data);
    else this.pendingInput += data;
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    this.size = dimensions;
    this.session?.resize(dimensions.columns, dimensions.rows).catch((e: unknown) => {
      this.log.debug(`Shell in ${this.container.name}: resize failed: ${(e as Error).message}`);
    });
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.session?.close().catch(() => undefined);
  }

  /**
   * The shell ended: the terminal closes with its exit code — unless it was killed (128 + a
   * signal, e.g. 137) because its container stopped or was removed: then it says so and stays
   * open, rather than leaving a bare "exit code 137" alert.
   */
  private async exited(code: number | null): Promise<void> {
    const rest = this.decoder.decode();
    if (rest) this.writeEmitter.fire(rest);
    this.ended = true;
    const { name } = this.container;
    this.log.info(`Shell in ${name} exited${code === null ? '' : ` with code ${code}`}`);
    if (code !== null && code >= 128 && (await this.containerStops(this.container.id))) {
      this.writeEmitter.fire(`\r\n\x1b[2m[The container ${name} stopped or was removed; this shell has ended.]\x1b[0m\r\n`);
      return;
    }
    this.closeEmitter.fire(code ?? undefined);
  }

  /** Stops taking input and says why; the terminal stays open so the message can be read. */
  private end(message: string): void {
    if (this.ended) return;
    this.ended = true;
    this.writeEmitter.fire(message);
  }
}

/**
 * Whether a container stops: the shell's exit (a signal) may come a moment before the
 * container's own `die`, so the answer waits for it, briefly.
 */
export type ContainerStopWatch = (id: string) => Promise<boolean>;

export function openShellTerminal(connected: Connected, container: ContainerSummary, log: Logger, containerStops: ContainerStopWatch): vscode.Terminal {
  const terminal = vscode.window.createTerminal({
    name: `${container.name} (shell)`,
    pty: new ExecPseudoterminal(connected, container, log, containerStops),
    iconPath: new vscode.ThemeIcon('terminal'),
  });
  terminal.show();
  return terminal;
}
