/**
 * Which sandbox this window works with: the `branchbox.defaultSandbox` setting, else the last
 * one deployed to from this window. Not stored: the daemon holds the state, this is only a
 * preference of the window.
 */
import { Emitter, type Disposable, type Event } from './lifetime';

export class CurrentSandbox implements Disposable {
  private lastDeployed: string | undefined;
  private readonly emitter = new Emitter<string | undefined>();
  readonly onDidChange: Event<string | undefined> = this.emitter.event;

  constructor(private readonly setting: () => string | undefined) {}

  get name(): string | undefined {
    return this.setting() ?? this.lastDeployed;
  }

  /** A deploy from this window went to `name`. */
  deployedTo(name: string): void {
    if (this.lastDeployed === name) return;
    this.lastDeployed = name;
    this.emitter.fire(this.name);
  }

  /** The setting changed (or the sandbox was deleted). */
  refresh(deleted?: string): void {
    if (deleted && this.lastDeployed === deleted) this.lastDeployed = undefined;
    this.emitter.fire(this.name);
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
