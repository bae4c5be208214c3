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

const OWN = new Set<string>(Object.values(REQUESTED_BY));

/**
 * The requester of a deployment a client asked for: its name, unless that name is one the
 * daemon gives itself — a client called "branchboxd (follow)" must not pass for the follow
 * (whose deployments a watch lets through), so it is recorded as `client "<name>"`.
 */
export function clientRequester(name: string | undefined): string | undefined {
  return name !== undefined && OWN.has(name) ? `client ${JSON.stringify(name)}` : name;
}
