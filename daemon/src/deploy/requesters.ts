/**
 * Who asked for a deployment when the daemon asks itself (`deployments.requested_by`; a client
 * asking is named by its own client name). Parts of the daemon tell their own deployments from
 * a user's by these: a watch does not stop for its own rebuild, nor for a redeploy of the branch
 * it follows.
 */
export const REQUESTED_BY = {
  resume: 'branchboxd (resume)',
  watch: 'branchboxd (watch)',
  follow: 'branchboxd (follow)',
} as const;
