/**
 * Schema version 9: the working-tree marker of a service (SandboxServiceView.workingTree) —
 * it runs its commit plus changes of the working tree, synced by a watch or deployed with
 * includeUncommitted. Kept in `sandbox_services` beside the commit it sits on, so it survives
 * a daemon restart as the synced files survive in the container:
 *
 * - `wt_changed_files`: how many files of the service's context differ from the commit;
 *   NULL when the service runs the commit as it is (the other two are then NULL too);
 * - `wt_since`: when it began running uncommitted changes;
 * - `wt_updated_at`: when the count was last measured.
 *
 * Never edit once shipped; append a new migration instead.
 */
import type { Migration } from '../state/migrations';

export const workingTreeMigration: Migration = {
  version: 9,
  name: 'working-tree marker of served services',
  up(db) {
    db.exec(`
      ALTER TABLE sandbox_services ADD COLUMN wt_changed_files INTEGER CHECK (wt_changed_files IS NULL OR wt_changed_files > 0);
      ALTER TABLE sandbox_services ADD COLUMN wt_since TEXT;
      ALTER TABLE sandbox_services ADD COLUMN wt_updated_at TEXT;
    `);
  },
};
