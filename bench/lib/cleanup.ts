/**
 * A bench's cleanup: its steps run once however often it is asked (at the end, on a failure, on
 * Ctrl-C — it is installed for SIGINT and SIGTERM, which then exit 130), and a step that fails is
 * reported and passed over, so the steps after it still run.
 */
export type CleanupStep = (what: string, work: () => Promise<unknown> | unknown) => Promise<void>;

export function cleanupOnce(steps: (step: CleanupStep) => Promise<void>): () => Promise<void> {
  const step: CleanupStep = async (what, work) => {
    try {
      await work();
    } catch (e) {
      console.error(`cleanup: could not ${what}: ${(e as Error).message}`);
    }
  };
  let cleaning: Promise<void> | undefined;
  const cleanup = () => (cleaning ??= steps(step));
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  return cleanup;
}
