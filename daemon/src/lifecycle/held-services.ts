/**
 * Services down on purpose for a while — a watch restarting one after a sync — which the health
 * monitor must not restart meanwhile: it would stop the container again while it starts, and
 * each of its restarts would look like a failure to the next check. A hold ends when its
 * release is called (once; holds of one service count up and down).
 */
export class HeldServices {
  private readonly holds = new Map<string, number>();

  hold(sandbox: string, service: string): () => void {
    const key = `${sandbox}/${service}`;
    this.holds.set(key, (this.holds.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.holds.get(key) ?? 1) - 1;
      if (left > 0) this.holds.set(key, left);
      else this.holds.delete(key);
    };
  }

  has(sandbox: string, service: string): boolean {
    return this.holds.has(`${sandbox}/${service}`);
  }
}
