/**
 * The labels Branchbox reads and writes on Docker objects. Labels, not names, are the truth
 * the daemon rebuilds its state from (see SPEC: Sandbox).
 *
 * Every object a daemon creates (containers, networks, images) also carries
 * `branchbox.instance=<id>`, the id of its state directory ({@link instanceId}); whatever
 * removes or stops objects by label (the reconciler, sandbox/delete, suspend) only touches
 * objects of its own instance, so daemons of different state directories share one engine
 * without reaping each other's objects.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';

export const LABELS = {
  /** `true` on everything Branchbox created. */
  managed: 'branchbox.managed',
  /** On everything Branchbox created: the {@link instanceId} of the daemon's state directory. */
  instance: 'branchbox.instance',
  sandbox: 'branchbox.sandbox',
  service: 'branchbox.service',
  deployment: 'branchbox.deployment',
  commit: 'branchbox.commit',
  /** On images built by a deployment: the project (`project:` of branchbox.yaml). */
  project: 'branchbox.project',
  /** On images built from uncommitted changes: the git tree id of the source. */
  sourceHash: 'branchbox.source-hash',
  /**
   * `true` on the offline base images; image prune keeps them unless asked, the reconciler
   * never touches them. Images inherit it from their FROM: a deployment's build sets `false`.
   */
  base: 'branchbox.base',
  composeProject: 'com.docker.compose.project',
} as const;

/**
 * The instance id of a daemon: the first 12 hex digits of the SHA-256 of its state
 * directory's real absolute path. Stable for a state directory (a daemon restarted on it,
 * even after the directory was wiped and made again, still owns its objects) and distinct
 * between state directories. The directory must exist.
 */
export function instanceId(stateDir: string): string {
  return createHash('sha256').update(realpathSync(stateDir)).digest('hex').slice(0, 12);
}

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
