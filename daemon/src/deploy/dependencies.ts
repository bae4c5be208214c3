/**
 * Dependency order of a project's services (compose `depends_on`): which services a
 * `deploy/start` deploys (the chosen profiles, the dependencies a requested service needs and
 * the sandbox does not have), in which order they are queued (topological; a cycle is refused
 * up front), and the wait of a deployment, between its build and its start stage, until each
 * dependency reached its condition — `service_started`, `service_healthy`,
 * `service_completed_successfully` — in a deployment of the same sandbox or in the container
 * serving it there. A dependency that cannot reach it fails the dependant with a diagnosis
 * naming it ("api waits for db: db unhealthy: <db's diagnosis>"); one with `required: false`
 * is only logged.
 */
import type { DependencyCondition } from '../../../schemas/src/project';
import { RpcError } from '../rpc/errors';
import { DeployCause } from './diagnosis';
import type { DeploymentStatus } from './types';

/** What this module reads of a service. */
export interface DependentService {
  readonly dependsOn?: Readonly<Record<string, { readonly condition: DependencyCondition; readonly required: boolean; readonly restart: boolean }>>;
  readonly profiles?: readonly string[];
  readonly job?: boolean;
}

export type ServiceGraph = Readonly<Record<string, DependentService>>;

// ---- selection and order ----

/**
 * The first dependency cycle among `names` (following dependencies inside the project), as
 * the path that closes it (`['a', 'b', 'a']`), or undefined.
 */
export function findCycle(graph: ServiceGraph, names: Iterable<string> = Object.keys(graph)): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    const seen = state.get(name);
    if (seen === 'done') return undefined;
    if (seen === 'open') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'open');
    path.push(name);
    for (const dep of Object.keys(graph[name]?.dependsOn ?? {})) {
      if (!Object.hasOwn(graph, dep)) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of names) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return undefined;
}

/** The ConfigInvalid error of a cycle. */
function cycleError(cycle: readonly string[], file?: string): RpcError {
  const message = `Dependency cycle between services: ${cycle.join(' → ')}${file ? ` (${file})` : ''}`;
  return new RpcError('ConfigInvalid', message, { errors: [{ ...(file ? { file } : {}), path: `/services/${cycle[0]}/depends_on`, message }] });
}

/**
 * `names` in dependency order: every service after the services it depends on (those among
 * `names`, in the order it names them), otherwise in the order given. Throws {@link cycleError} on a cycle.
 */
export function dependencyOrder(graph: ServiceGraph, names: readonly string[], file?: string): string[] {
  const cycle = findCycle(graph, names);
  if (cycle) throw cycleError(cycle, file);
  const wanted = new Set(names);
  const ordered: string[] = [];
  const placed = new Set<string>();
  const place = (name: string) => {
    if (placed.has(name)) return;
    placed.add(name);
    for (const dep of Object.keys(graph[name]?.dependsOn ?? {})) if (wanted.has(dep)) place(dep);
    ordered.push(name);
  };
  for (const name of names) place(name);
  return ordered;
}

/** Whether a service is deployed when these profiles are chosen (compose: no `profiles`, always). */
function inProfiles(service: DependentService, profiles: readonly string[]): boolean {
  return !service.profiles?.length || service.profiles.some((p) => profiles.includes(p));
}

export interface Selection {
  /** Every service to deploy, in dependency order. */
  readonly services: string[];
  /** Those added as dependencies of the requested ones (in dependency order too). */
  readonly added: string[];
}

/**
 * What a deploy request deploys. Without `services`: every service in the chosen profiles.
 * With them: those, and each dependency (transitively) the sandbox does not have already
 * (`present`: serving, completed, or being deployed) — a dependency outside the chosen
 * profiles too, as `docker compose up api` starts it. A required dependency the project does
 * not define is a ConfigInvalid error (the loader reports it with its line; this is the safety net).
 */
export function selectServices(
  graph: ServiceGraph,
  req: { readonly services?: readonly string[]; readonly profiles?: readonly string[] },
  present: (service: string) => boolean,
  file?: string,
): Selection {
  const profiles = req.profiles ?? [];
  const requested = req.services ? [...new Set(req.services)] : Object.keys(graph).filter((s) => inProfiles(graph[s]!, profiles));
  const chosen = new Set(requested);
  const added = new Set<string>();
  const queue = [...requested];
  while (queue.length) {
    const name = queue.shift()!;
    for (const [dep, spec] of Object.entries(graph[name]?.dependsOn ?? {})) {
      if (!Object.hasOwn(graph, dep)) {
        if (spec.required) {
          const message = `Service ${name} depends on service ${dep}, which the project does not define`;
          throw new RpcError('ConfigInvalid', message, { errors: [{ ...(file ? { file } : {}), path: `/services/${name}/depends_on/${dep}`, message }] });
        }
        continue;
      }
      if (chosen.has(dep) || present(dep)) continue;
      chosen.add(dep);
      added.add(dep);
      queue.push(dep);
    }
  }
  const services = dependencyOrder(graph, [...chosen], file);
  return { services, added: services.filter((s) => added.has(s)) };
}

// ---- waiting ----

/** A final or intermediate status of the deployment a dependant waits on. */
export interface DependencyDeployment {
  readonly id: string;
  readonly status: DeploymentStatus;
  readonly diagnosis?: string;
  readonly supersededBy?: string;
  /** Its start stage ended ok: the container started. */
  readonly started: boolean;
}

/** The container serving a dependency in the sandbox now. */
export interface ServingDependency {
  readonly running: boolean;
  readonly exitCode: number;
  /** Its Docker HEALTHCHECK's state; absent without one. */
  readonly health?: 'starting' | 'healthy' | 'unhealthy';
}

/** What the wait reads of the sandbox: the dependency's deployment in flight, or the container serving it. */
export interface DependencySource {
  /** The id of the deployment of `service` to wait on (this request's, or one already in flight in the sandbox), if any. */
  deployment(service: string): string | undefined;
  /** That deployment as it is now. */
  record(id: string): DependencyDeployment;
  /** Calls `listener` whenever the deployment `id` changes (status or stage); answers the unsubscribe. */
  watch(id: string, listener: () => void): () => void;
  /** The container serving `service` in the sandbox, undefined when none does. */
  serving(service: string): Promise<ServingDependency | undefined>;
}

/** A dependency failed: the dependant's diagnosis is the message as it is (no "<stage> failed:" prefix). */
export class DependencyFailure extends DeployCause {}

/** How often a serving container whose health check is still `starting` is inspected again. */
const SERVING_POLL_MS = 500;

const WORDS: Record<DependencyCondition, string> = {
  service_started: 'started',
  service_healthy: 'healthy',
  service_completed_successfully: 'completed successfully',
};

/**
 * Resolves once every dependency of `service` reached its condition; throws
 * {@link DependencyFailure} naming the first that cannot (required ones; the others are
 * logged and skipped), or the signal's reason when it aborts.
 */
export async function waitForDependencies(
  service: string,
  dependsOn: NonNullable<DependentService['dependsOn']>,
  source: DependencySource,
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<void> {
  const entries = Object.entries(dependsOn);
  if (entries.length === 0) return;
  say(`Waiting for ${entries.map(([dep, s]) => `${dep} (${WORDS[s.condition]})`).join(', ')} before starting`);
  const inner = new AbortController();
  const both = AbortSignal.any([signal, inner.signal]);
  try {
    await Promise.all(
      entries.map(async ([dep, spec]) => {
        const failure = await reached(dep, spec.condition, source, both);
        if (failure === undefined) {
          say(`${dep} is ${WORDS[spec.condition]}`);
          return;
        }
        const message = `${service} waits for ${dep}: ${dep} ${failure}`;
        if (!spec.required) {
          say(`${message} (an optional dependency: starting without it)`);
          return;
        }
        throw new DependencyFailure(message);
      }),
    );
  } catch (e) {
    signal.throwIfAborted();
    throw e;
  } finally {
    inner.abort();
  }
}

/** Undefined once `dep` reached `condition`; otherwise why it cannot (after "<dep> "). */
async function reached(dep: string, condition: DependencyCondition, source: DependencySource, signal: AbortSignal): Promise<string | undefined> {
  const id = source.deployment(dep);
  if (id !== undefined) {
    return new Promise<string | undefined>((resolve, reject) => {
      let off = () => {};
      const check = () => {
        const verdict = judge(source.record(id), condition);
        if (verdict === 'wait') return;
        off();
        signal.removeEventListener('abort', onAbort);
        resolve(verdict === 'met' ? undefined : verdict);
      };
      const onAbort = () => {
        off();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      off = source.watch(id, check);
      check();
    });
  }
  for (;;) {
    signal.throwIfAborted();
    const serving = await source.serving(dep);
    const verdict = serving ? judgeServing(serving, condition) : 'is not deployed in the sandbox';
    if (verdict !== 'wait') return verdict === 'met' ? undefined : verdict;
    await abortableDelay(SERVING_POLL_MS, signal);
  }
}

/** Whether the deployment met the condition, must be waited for, or why it never will. */
function judge(d: DependencyDeployment, condition: DependencyCondition): 'met' | 'wait' | string {
  const status = d.status;
  const because = d.diagnosis ? `: ${d.diagnosis}` : '';
  switch (status) {
    case 'failed':
      return `${condition === 'service_healthy' ? 'unhealthy' : condition === 'service_started' ? 'did not start' : 'did not complete successfully'}${because}`;
    case 'cancelled':
      return `was cancelled${because}`;
    case 'superseded':
      return `was superseded${d.supersededBy ? ` by deployment ${d.supersededBy}` : ''}`;
    case 'stopped':
      return 'was stopped';
  }
  switch (condition) {
    case 'service_started':
      return d.started || status === 'running' || status === 'completed' ? 'met' : 'wait';
    case 'service_healthy':
      if (status === 'completed') return 'exited (it ran to completion) instead of staying healthy';
      return status === 'running' ? 'met' : 'wait';
    case 'service_completed_successfully':
      if (status === 'running') return 'keeps running: it is not a job that completes';
      return status === 'completed' ? 'met' : 'wait';
  }
}

/** The same for the container serving the dependency. */
export function judgeServing(c: ServingDependency, condition: DependencyCondition): 'met' | 'wait' | string {
  switch (condition) {
    case 'service_started':
      return c.running || c.exitCode === 0 ? 'met' : `is not running (exited with code ${c.exitCode})`;
    case 'service_healthy':
      if (!c.running) return `is not running (exited with code ${c.exitCode})`;
      if (c.health === 'starting') return 'wait';
      return c.health === 'unhealthy' ? 'unhealthy: its health check fails' : 'met';
    case 'service_completed_successfully':
      if (c.running) return 'keeps running: it is not a job that completes';
      return c.exitCode === 0 ? 'met' : `did not complete successfully: it exited with code ${c.exitCode}`;
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
