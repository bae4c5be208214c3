/**
 * What the sandbox side needs from the deploy pipeline (docs/design/sandboxes-and-deploys.md):
 * start deployments, wait for them to finish, cancel a sandbox's. The pipeline in
 * `daemon/src/deploy/` implements it; only the fields read here are named, so any richer
 * deployment record fits.
 */

export interface DeployRequest {
  readonly repoPath: string;
  /** The branch (recorded as the deployment's ref); with `commit`, that exact commit of it. */
  readonly ref?: string;
  readonly commit?: string;
  readonly sandbox: string;
  readonly services: string[];
  readonly includeUncommitted?: boolean;
  readonly requestedBy?: string;
}

/** The part of a final deployment record the sandbox side reads. */
export interface FinalDeployment {
  readonly id: string;
  readonly status: string;
  readonly diagnosis?: string | null;
  readonly commit?: string | null;
}

export interface DeployControl {
  /** Queues the deployments (one per service) and answers at once. Throws an RpcError when they cannot start. */
  start(req: DeployRequest): { deployments: { id: string; service: string }[] };
  /** Resolves when the deployment is in a final state. */
  waitFinal(id: string): Promise<FinalDeployment>;
  /**
   * For sandbox deletion: cancels every deployment of the sandbox in flight, waits until
   * they are final, and ends the running ones (`stopped`).
   */
  stopSandbox(sandbox: string): Promise<void>;
}
