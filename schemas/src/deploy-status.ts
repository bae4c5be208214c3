/**
 * The one rule for a deployment's end, read by the daemon, the CLI, the extension and the
 * panels alike (no TypeBox here: the webviews import it).
 */

/** The statuses a deployment ends in. */
export const FINAL_DEPLOYMENT_STATUSES = ['running', 'completed', 'failed', 'cancelled', 'stopped', 'superseded'] as const;

/** Whether a deployment status is final. */
export const isFinalStatus = (status: string): boolean => (FINAL_DEPLOYMENT_STATUSES as readonly string[]).includes(status);

/** Whether a deployment ended well: serving (`running`) or, a job, run to completion (`completed`). */
export const succeededStatus = (status: string): boolean => status === 'running' || status === 'completed';
