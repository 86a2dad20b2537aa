/**
 * Clean-up an execution leaves running while it goes on: the engine removing a finished action's
 * container (tens of milliseconds per action, more on a busy engine) and the action's outputs
 * directory. The next action starts meanwhile instead of waiting; the execution's end waits for all of
 * it, so whoever sees the final status (or the images pruned) sees the containers gone.
 */
export class BackgroundCleanup {
  private readonly pending = new Set<Promise<void>>();

  /** Starts `work` now; its failure is dropped (the clean-up that failed did so before as well, silently). */
  add(work: () => Promise<void>): void {
    const running: Promise<void> = work()
      .catch(() => undefined)
      .finally(() => this.pending.delete(running));
    this.pending.add(running);
  }

  /** Resolves once everything added, including what is added meanwhile, has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
