/**
 * The labels Branchbox reads and writes on Docker objects. Labels, not names, are the truth
 * the daemon rebuilds its state from (see SPEC: Sandbox).
 */

export const LABELS = {
  /** `true` on everything Branchbox created. */
  managed: 'branchbox.managed',
  sandbox: 'branchbox.sandbox',
  service: 'branchbox.service',
  deployment: 'branchbox.deployment',
  commit: 'branchbox.commit',
  /** On images built by a deployment: the project (`project:` of branchbox.yaml). */
  project: 'branchbox.project',
  /** On images built from uncommitted changes: the git tree id of the source. */
  sourceHash: 'branchbox.source-hash',
  /** `true` on the offline base images; image prune keeps them unless asked. */
  base: 'branchbox.base',
  composeProject: 'com.docker.compose.project',
} as const;

/**
 * Whether `labels` satisfy every selector: `key` (present, any value) or `key=value`
 * (the same syntax as Docker's `label` filter).
 */
export function matchesLabels(
  labels: Readonly<Record<string, string>>,
  selectors: readonly string[] | undefined,
): boolean {
  if (!selectors) return true;
  for (const selector of selectors) {
    const eq = selector.indexOf('=');
    if (eq < 0) {
      if (!Object.hasOwn(labels, selector)) return false;
    } else if (labels[selector.slice(0, eq)] !== selector.slice(eq + 1)) {
      return false;
    }
  }
  return true;
}
