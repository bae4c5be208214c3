/**
 * What the deploy pipeline offers the rest of the daemon (`DeployControl`, the contract of
 * docs/design/sandboxes-and-deploys.md) and what it needs from the project, sandbox, port and
 * environment modules — as narrow structural interfaces, so the real classes plug in as they
 * are and tests can pass small fakes.
 */
import type { DeploymentRecord } from '../../../schemas/src/deploy';
import type { ServiceConfig } from '../../../schemas/src/project';

export type {
  DeployLogLine,
  DeploymentRecord,
  DeploymentStatus,
  DeployProgress,
  DeployStage,
  LogSource,
  StageOutcome,
  StageRecord,
} from '../../../schemas/src/deploy';

export interface DeployRequest {
  /** The repository root, or a folder inside it. */
  readonly repoPath: string;
  /** The branch; default the repository's current branch. */
  readonly ref?: string;
  /** An exact commit; `ref` then only labels it. */
  readonly commit?: string;
  readonly sandbox: string;
  /** Absent: every service of the chosen `profiles`. Their dependencies the sandbox lacks are added. */
  readonly services?: readonly string[];
  /** Compose profiles: services naming none of them are left out (those without profiles always deploy). */
  readonly profiles?: readonly string[];
  readonly includeUncommitted?: boolean;
  /** The client that asked (recorded in the history). */
  readonly requestedBy?: string;
}

export interface DeployControl {
  /** Queues one deployment per service (and per dependency it adds), in dependency order, and answers at once. Throws RpcError on invalid requests. */
  start(req: DeployRequest): { deployments: { id: string; service: string }[]; addedDependencies: string[] };
  /** Resolves when the deployment is in a final state. */
  waitFinal(id: string): Promise<DeploymentRecord>;
  /**
   * For sandbox deletion: cancels every deployment of the sandbox in flight, waits until
   * they are final, and ends the running ones (`stopped`).
   */
  stopSandbox(sandbox: string): Promise<void>;
}

/** The statuses a deployment ends in. */
export { FINAL_DEPLOYMENT_STATUSES as FINAL_STATUSES } from '../../../schemas/src/deploy-status';

// ---- What the pipeline consumes (the sandbox modules; see docs/design/sandboxes-and-deploys.md) ----

/** One service of the project (branchbox.yaml or compose), as `loadProject` normalizes it. */
export type DeployServiceConfig = Readonly<ServiceConfig>;

export interface DeployProject {
  readonly name: string;
  readonly root: string;
  /** The files it was read from (compose projects); absent: `<root>/branchbox.yaml`. */
  readonly source?: { readonly files: readonly string[] };
  readonly services: Readonly<Record<string, DeployServiceConfig>>;
}

/** `loadProject(repoRoot)`: reads and validates `<repoRoot>/branchbox.yaml`; throws RpcError ConfigInvalid. */
export type ProjectLoader = (repoRoot: string) => DeployProject;

export interface ServingRecord {
  readonly deploymentId: string;
  readonly branch: string | null;
  readonly commit: string;
  readonly containerId: string;
  /** The primary port's; none for a service that publishes no port. */
  readonly hostPort: number | null;
  /** Every published port of the container. */
  readonly ports?: readonly ServedPort[];
  /** A job that ran to completion (its exited container is what serves). */
  readonly job?: boolean;
  /** Deployed with uncommitted changes: how many files of its context differ from the commit (absent: it runs the commit). */
  readonly workingTree?: { readonly changedFiles: number };
}

/** A published port of a deployment's container and the loopback port it is reachable on. */
export interface ServedPort {
  readonly container: number;
  readonly protocol: 'tcp' | 'udp';
  readonly hostPort: number;
  /** The host port the compose file asked for (never bound as such). */
  readonly published?: number;
}

/** The part of `SandboxStore` the pipeline uses. */
export interface DeploySandboxes {
  /** Throws RpcError SandboxNotFound. */
  require(name: string): unknown;
  /** The sandbox with the container serving each service, if any (switch-over replaces that one). */
  get(name: string): { readonly services: readonly { readonly service: string; readonly containerId?: string }[] } | undefined;
  recordServing(sandbox: string, service: string, serving: ServingRecord): void;
  /** Records the repository of a sandbox created without one (its first deployment); no change otherwise. */
  adoptRepository(sandbox: string, repoPath: string, project: string): void;
}

/** The part of `PortAllocator` the pipeline uses. */
export interface DeployPorts {
  /** Throws RpcError PortExhausted. */
  allocate(req: { sandbox: string; service: string; purpose: 'service' | 'gateway'; deploymentId?: string }): number;
  release(port: number): void;
  /** The ports held for a deployment (its primary port and every further published one). */
  heldByDeployment(deploymentId: string): number[];
}

/** The part of `EnvironmentStore` the pipeline uses. */
export interface DeployEnvironments {
  /** Variables and decrypted secrets for the container (service-level over sandbox-level). */
  resolve(sandbox: string, service: string): Record<string, string>;
  /** The clear secret values of the sandbox (and its services), to mask in deploy output. */
  secretValues(sandbox: string): readonly string[];
}
