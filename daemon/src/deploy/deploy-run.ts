/**
 * One deployment, stage by stage: prepare (git) → build → start (beside the old container) →
 * health-check → switch-over. Any failure or cancellation removes what this deployment
 * created (its container, its port, its source folder) and leaves the old container serving;
 * the deployment ends with a one-line diagnosis "<stage> failed: <cause>" and its full log.
 *
 * Switch-over (./switch-over.ts) is not cancellable: once it begins, the deployment completes or rolls back.
 */
import { realpathSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isRpcError } from '../rpc/errors';
import type { Logger } from '../runtime/log';
import { LABELS } from '../docker/labels';
import { deploymentContainerName, networkName } from '../sandbox/names';
import { build, type Built, type Prepared } from './build-stage';
import { containedRealPath } from './contained-path';
import type { ContainerSpec, DeployDocker } from './deploy-docker';
import type { DeploymentStore } from './deployment-store';
import type { GitSource } from './git-source';
import { changedInSnapshot } from './working-tree-changes';
import { containerSecurity, rootWarning } from './hardening';
import { checkHealth } from './health-stage';
import { publishedPorts, releaseDeploymentPorts, resolveMounts } from './container-runtime';
import { plainLine } from '../../../schemas/src/plain-text';
import { DeployCause, causeOf, isPortInUse } from './diagnosis';
import { DependencyFailure } from './dependencies';
import type { RunRecorder } from './run-recorder';
import { switchOver } from './switch-over';
import type { CommandTrust } from '../trust/trust-store';
import type {
  DeployEnvironments,
  DeployPorts,
  DeployProgress,
  DeploySandboxes,
  DeployServiceConfig,
  DeployStage,
  DeploymentStatus,
  ProjectLoader,
  ServedPort,
  StageOutcome,
} from './types';

export { imageTag } from './build-stage';

/** Everything a run needs from the daemon. */
export interface RunDeps {
  readonly store: DeploymentStore;
  readonly docker: () => DeployDocker;
  readonly git: GitSource;
  readonly loadProject: ProjectLoader;
  readonly sandboxes: DeploySandboxes;
  readonly ports: DeployPorts;
  readonly environments: DeployEnvironments;
  /** Creates the sandbox network unless it exists (serialized per sandbox by the pipeline). */
  readonly ensureNetwork: (sandbox: string) => Promise<void>;
  /** Where exported sources live: `<sourcesDir>/<deployment id>`. */
  readonly sourcesDir: string;
  readonly log: Logger;
  readonly now: () => Date;
  /** Announces a change of another deployment (the one superseded at switch-over). */
  readonly emit: (item: DeployProgress) => void;
  /** This instance's labels (and the --label extras), put on every image a build makes (containers get them from the Docker client). */
  readonly extraLabels: Readonly<Record<string, string>>;
  /** The host build commands the user trusted; no other runs. */
  readonly trust: CommandTrust;
  /** `${sandbox}/${service}` of serving containers a deployment stopped on purpose until it switches over or rolls back (the health monitor leaves them stopped). */
  readonly stoppedForReplacement: Set<string>;
}

/** What one deployment deploys: a service of a repository, at a branch or commit, into a sandbox. */
export interface DeploymentTarget {
  readonly id: string;
  readonly sandbox: string;
  readonly service: string;
  readonly repoRoot: string;
  readonly ref?: string;
  readonly commit?: string;
  readonly includeUncommitted: boolean;
}

/** One deployment as the pipeline hands it to {@link runDeployment}. */
export interface RunContext extends DeploymentTarget {
  readonly signal: AbortSignal;
  readonly recorder: RunRecorder;
  /** Why the run was cancelled, once it was. */
  cancelReason(): string | undefined;
  /** Called as switch-over begins; from then on, cancelling waits instead of aborting. */
  enterSwitchOver(): void;
  /**
   * Between the build and the start stage: resolves once the dependencies of the deployed
   * configuration reached their condition (./dependencies.ts); throws DependencyFailure when one cannot.
   */
  waitForDependencies?(config: Prepared['config']): Promise<void>;
  /** The deployment that replaced this one while it waited for its dependencies, once one did. */
  supersededBy?(): string | undefined;
}

/** What a deployment made so far (undone by a failure), and what its switch-over records. */
export interface Created {
  containerId?: string;
  /** The primary port's. */
  hostPort?: number;
  /** Every published port of the container. */
  ports?: ServedPort[];
  exportDir?: string;
  /** The export stays while the deployment serves (a host build's runtime or a bind mount reads it). */
  keepSource: boolean;
  /** A job that ran to completion. */
  job?: boolean;
  /** The serving container this deployment stopped before starting its own (they write the same volume): started again on a rollback. */
  stoppedPrevious?: string;
}

/** Runs the deployment to a final status; never throws. */
export async function runDeployment(ctx: RunContext, deps: RunDeps): Promise<void> {
  const rec = ctx.recorder;
  const log = deps.log.child({ deployment: ctx.id, sandbox: ctx.sandbox, service: ctx.service });
  const created: Created = { keepSource: false };
  let current: DeployStage = 'prepare';
  /** Waiting for dependencies: the start stage is not begun yet. */
  let waiting = false;

  const stage = async <T>(name: DeployStage, status: DeploymentStatus | undefined, fn: (setOutcome: (o: StageOutcome) => void) => Promise<T>): Promise<T> => {
    ctx.signal.throwIfAborted();
    current = name;
    if (status) rec.status(status);
    rec.beginStage(name);
    let outcome: StageOutcome = 'ok';
    try {
      const result = await fn((o) => (outcome = o));
      ctx.signal.throwIfAborted();
      rec.endStage(name, outcome);
      return result;
    } catch (e) {
      rec.endStage(name, ctx.signal.aborted ? 'cancelled' : 'failed');
      throw e;
    }
  };

  try {
    rec.mask.add(deps.environments.secretValues(ctx.sandbox));
    deps.store.update(ctx.id, { startedAt: deps.now().toISOString() });
    const prepared = await stage('prepare', 'preparing', () => prepare(ctx, deps, created));
    const built = await stage('build', 'building', (setOutcome) => build(ctx, deps, prepared, setOutcome, created));
    if (ctx.waitForDependencies && Object.keys(prepared.config.dependsOn ?? {}).length) {
      current = 'start';
      waiting = true;
      await ctx.waitForDependencies(prepared.config);
      ctx.signal.throwIfAborted();
      waiting = false;
    }
    await stage('start', 'starting', () => startContainer(ctx, deps, prepared, built, created));
    const readiness = await stage('health-check', 'health-checking', () => checkHealth(ctx, deps, prepared, created));
    created.job = readiness === 'completed';
    ctx.signal.throwIfAborted();
    ctx.enterSwitchOver();
    current = 'switch-over';
    await switchOver(ctx, deps, prepared, created);
    log.info(`Deployed ${ctx.service}@${prepared.commit.slice(0, 7)} into sandbox ${ctx.sandbox}`, { port: created.hostPort });
  } catch (e) {
    const cancelled = ctx.signal.aborted && current !== 'switch-over';
    const supersededBy = cancelled ? ctx.supersededBy?.() : undefined;
    // Masked first (a secret is matched as it was printed), then one plain line.
    const diagnosis = plainLine(rec.mask.apply(
      supersededBy
        ? `start cancelled: superseded by deployment ${supersededBy} while waiting for its dependencies`
        : cancelled
          ? `${current} cancelled: ${ctx.cancelReason() ?? 'cancelled'}`
          : e instanceof DependencyFailure
            ? e.message
            : `${current} failed: ${causeOf(e)}`,
    ));
    if (waiting) {
      // The start stage did not begin: it ends where the wait did, and nothing was started.
      rec.beginStage('start');
      rec.endStage('start', cancelled ? 'cancelled' : 'failed');
    }
    if (supersededBy) {
      log.info(`The deployment of ${ctx.service} into sandbox ${ctx.sandbox} was superseded while waiting for its dependencies`, { by: supersededBy });
      await rollBack(ctx, deps, created, 'superseded', diagnosis, supersededBy);
      return;
    }
    if (!cancelled) log.warn(`Failed to deploy ${ctx.service} into sandbox ${ctx.sandbox}: ${diagnosis}`, isRpcError(e) || e instanceof DeployCause ? {} : { error: e });
    else log.info(`Cancelled the deployment of ${ctx.service} into sandbox ${ctx.sandbox}`, { stage: current });
    await rollBack(ctx, deps, created, cancelled ? 'cancelled' : 'failed', diagnosis);
  } finally {
    if (created.stoppedPrevious) deps.stoppedForReplacement.delete(`${ctx.sandbox}/${ctx.service}`);
    if (created.exportDir && !created.keepSource) rmSync(created.exportDir, { recursive: true, force: true });
    deps.store.finishLog(ctx);
  }
}

// ---- prepare ----

async function prepare(ctx: RunContext, deps: RunDeps, created: { exportDir?: string }): Promise<Prepared> {
  const rec = ctx.recorder;
  const gitOpts = { signal: ctx.signal, onLine: (l: string) => rec.log('git', l) };
  rec.log('daemon', `Deploying service ${ctx.service} of ${ctx.repoRoot} into sandbox ${ctx.sandbox}`);
  const resolved = await deps.git.resolve(ctx.repoRoot, { ...(ctx.ref !== undefined ? { ref: ctx.ref } : {}), ...(ctx.commit !== undefined ? { commit: ctx.commit } : {}) }, gitOpts);
  rec.log('git', `${resolved.ref ?? ctx.commit ?? 'HEAD'} is at commit ${resolved.commit}`);
  deps.store.update(ctx.id, { ref: resolved.ref, commit: resolved.commit });

  let treeish = resolved.commit;
  let sourceHash: string | null = null;
  if (ctx.includeUncommitted) {
    const head = await headCommit(deps.git, ctx).catch(() => undefined);
    if (head !== resolved.commit) {
      throw new DeployCause(
        `uncommitted changes sit on top of HEAD (${head?.slice(0, 12) ?? 'unknown'}), not on ${resolved.ref ?? 'the requested commit'} (${resolved.commit.slice(0, 12)}): ` +
          'check out that branch, or deploy without includeUncommitted',
      );
    }
    const snapshot = await deps.git.snapshotWorkingTree(ctx.repoRoot, resolved.commit, gitOpts);
    if (snapshot.changed) {
      treeish = snapshot.tree;
      sourceHash = snapshot.tree;
      rec.log('git', `Including the uncommitted changes of the working tree (source tree ${snapshot.tree.slice(0, 12)})`);
    } else {
      rec.log('git', 'No uncommitted changes: deploying the commit as it is');
    }
  }
  deps.store.update(ctx.id, { sourceHash });

  const exportDir = join(deps.sourcesDir, ctx.id);
  created.exportDir = exportDir;
  await deps.git.export(ctx.repoRoot, treeish, exportDir, { signal: ctx.signal });
  rec.log('git', `Exported ${sourceHash ? `the working tree over ${resolved.commit.slice(0, 12)}` : `commit ${resolved.commit.slice(0, 12)}`} to ${exportDir}`);

  // The configuration deployed is the one of the source deployed.
  let project;
  try {
    project = deps.loadProject(exportDir);
  } catch (e) {
    throw new DeployCause(`branchbox.yaml at ${resolved.commit.slice(0, 12)}: ${causeOf(e)}`);
  }
  const config = project.services[ctx.service];
  if (!config) {
    const known = Object.keys(project.services).join(', ') || 'none';
    throw new DeployCause(`service "${ctx.service}" is not defined in branchbox.yaml at ${resolved.commit.slice(0, 12)} (services: ${known})`);
  }
  // A branch may commit links: the context is where its real path is, inside the export's.
  const realExport = realpathSync(exportDir);
  const contextDir = containedRealPath({
    base: realExport,
    rel: config.context,
    within: realExport,
    what: `the build context "${config.context}"`,
    withinName: 'the repository',
  });
  if (!statSync(contextDir).isDirectory()) throw new DeployCause(`the build context "${config.context}" is not a folder`);
  // What the service will run on top of its commit, for its working-tree marker: the files of its context the snapshot changes.
  const changedFiles = sourceHash ? await changedInSnapshot(deps.git, ctx.repoRoot, resolved.commit, sourceHash, config.context, gitOpts) : undefined;
  if (changedFiles !== undefined) rec.log('git', `The uncommitted changes touch ${changedFiles} file(s) of the build context "${config.context || '.'}"`);
  return { ref: resolved.ref, commit: resolved.commit, sourceHash, ...(changedFiles !== undefined ? { changedFiles } : {}), exportDir, contextDir, projectName: project.name, config };
}

async function headCommit(git: GitSource, ctx: RunContext): Promise<string> {
  return (await git.run(ctx.repoRoot, ['rev-parse', '--verify', 'HEAD^{commit}'], { signal: ctx.signal })).trim();
}

// ---- start ----

async function startContainer(
  ctx: RunContext,
  deps: RunDeps,
  p: Prepared,
  built: Built,
  created: Created,
): Promise<void> {
  const rec = ctx.recorder;
  const docker = deps.docker();
  const config = p.config;
  const env = { ...p.config.env, ...deps.environments.resolve(ctx.sandbox, ctx.service) };
  rec.mask.add(deps.environments.secretValues(ctx.sandbox));
  // What the container needs of the engine, asked at once: its network, its volumes, its image's user.
  const [, { mounts, binds }, imageUser] = await Promise.all([
    deps.ensureNetwork(ctx.sandbox),
    resolveMounts(config, ctx.sandbox, p.exportDir, docker),
    docker.imageUser(built.image),
  ]);
  ctx.signal.throwIfAborted();
  // A bind mounts a path of the export: it stays while the deployment serves.
  if (binds) created.keepSource = true;

  // Confined by default; run as the image's user, and say so when that is root.
  const security = containerSecurity(p.config.security);
  const warning = rootWarning(ctx.service, security, imageUser);
  if (warning) rec.log('daemon', warning);

  // Beside the serving container, under its own name and with no network alias: siblings
  // reach it by the service's aliases only once it serves (switch-over).
  const name = deploymentContainerName(ctx.sandbox, ctx.service, ctx.id);
  const spec = (hostPort: number | undefined, published: ServedPort[]): ContainerSpec => ({
    name,
    image: built.image,
    env,
    owner: { sandbox: ctx.sandbox, service: ctx.service },
    labels: { [LABELS.deployment]: ctx.id, [LABELS.commit]: p.commit },
    network: networkName(ctx.sandbox),
    ...(config.port !== undefined && hostPort !== undefined ? { containerPort: config.port, hostPort } : {}),
    published,
    ...(config.expose ? { expose: config.expose } : {}),
    ...(config.command ? { cmd: config.command } : built.cmd ? { cmd: built.cmd } : {}),
    ...(config.entrypoint ? { entrypoint: config.entrypoint } : {}),
    ...(config.workingDir !== undefined ? { workingDir: config.workingDir } : {}),
    ...(config.labels ? { userLabels: config.labels } : {}),
    ...(config.restart ? { restart: config.restart } : {}),
    ...(config.healthcheck ? { healthcheck: config.healthcheck } : {}),
    ...(config.tmpfs ? { tmpfs: config.tmpfs } : {}),
    ...(mounts.length ? { mounts } : {}),
    ...(built.binds ? { binds: built.binds } : {}),
    ...(p.config.resources.nanoCpus ? { nanoCpus: p.config.resources.nanoCpus } : {}),
    ...(p.config.resources.memoryBytes ? { memoryBytes: p.config.resources.memoryBytes } : {}),
    security,
  });

  // A port checked free can be taken before the engine binds it (another process, or an
  // outgoing connection the kernel gave that port): the engine then refuses the start, and
  // the deployment takes other ports and tries again rather than failing.
  for (let attempt = 1; ; attempt++) {
    const ports = leasePorts(ctx, deps, config);
    if (ports.primary !== undefined) created.hostPort = ports.primary;
    created.ports = ports.all;
    const id = await docker.createContainer(spec(ports.primary, ports.all));
    created.containerId = id;
    deps.store.update(ctx.id, { containerId: id, containerName: name });
    const publishing = ports.all.map((x) => `127.0.0.1:${x.hostPort} -> ${x.container}${x.protocol === 'udp' ? '/udp' : ''}`).join(', ');
    rec.log('daemon', `Created container ${name} (${id.slice(0, 12)}) from ${built.image}${publishing ? `, publishing ${publishing}` : ', publishing no port'}`);
    ctx.signal.throwIfAborted();
    if (attempt === 1) await stopWriterOfSameVolumes(ctx, deps, p, created);
    try {
      await docker.startContainer(id, { sandbox: ctx.sandbox, service: ctx.service });
      break;
    } catch (e) {
      const message = causeOf(e);
      if (!isPortInUse(message)) throw e;
      const addresses = ports.all.map((x) => `127.0.0.1:${x.hostPort}`).join(', ');
      if (attempt === PORT_ATTEMPTS) throw new DeployCause(`a port of ${addresses} is in use: ${message}`);
      rec.log('daemon', `A port of ${addresses} was taken after it was checked free (${message}); trying other ports`);
      await docker.removeContainer(id, { sandbox: ctx.sandbox, service: ctx.service });
      delete created.containerId;
      releaseDeploymentPorts(deps.ports, ctx.id);
      ctx.signal.throwIfAborted();
    }
  }
  rec.log('daemon', `Started container ${name}`);
}

/** How often a start refused for a port in use is tried with other ports. */
const PORT_ATTEMPTS = 3;

/** One loopback port per published port, each a lease of this deployment, recorded on it. */
function leasePorts(ctx: RunContext, deps: RunDeps, config: DeployServiceConfig): { primary: number | undefined; all: ServedPort[] } {
  return deps.store.transaction(() => {
    const allocate = () => deps.ports.allocate({ sandbox: ctx.sandbox, service: ctx.service, purpose: 'service', deploymentId: ctx.id });
    const primary = config.port !== undefined ? allocate() : undefined;
    const all = publishedPorts(config, primary, allocate);
    deps.store.update(ctx.id, { ...(primary !== undefined ? { hostPort: primary } : {}), ports: all.length ? JSON.stringify(all) : null });
    return { primary, all };
  });
}

/**
 * Two containers of a service never write one volume at once: a database beside its own
 * replacement on the same data directory would corrupt it. When the service mounts a named
 * volume read-write, the serving container is stopped before the new one starts (the service
 * is down until the new one is healthy, as `docker compose up` recreates it); a rollback starts
 * it again.
 */
async function stopWriterOfSameVolumes(ctx: RunContext, deps: RunDeps, p: Prepared, created: Created): Promise<void> {
  const written = (p.config.volumes ?? []).filter((v) => v.type === 'volume' && v.source !== undefined && !v.readOnly).map((v) => v.source!);
  if (written.length === 0) return;
  const serving = deps.sandboxes.get(ctx.sandbox)?.services.find((s) => s.service === ctx.service)?.containerId;
  if (serving === undefined) return;
  const key = `${ctx.sandbox}/${ctx.service}`;
  deps.stoppedForReplacement.add(key);
  created.stoppedPrevious = serving;
  await deps.docker().stopContainer(serving, { sandbox: ctx.sandbox, service: ctx.service });
  ctx.recorder.log(
    'daemon',
    `Stopped the serving container ${serving.slice(0, 12)} first: it writes the same volume${written.length === 1 ? '' : 's'} (${written.join(', ')}), which two containers must not write at once`,
  );
}

// ---- failure ----

/** After a failed replacement, the container stopped for it serves again (once the new one is gone: see rollBack). */
async function restartPrevious(ctx: RunContext, deps: RunDeps, id: string): Promise<void> {
  try {
    await deps.docker().startContainer(id, { sandbox: ctx.sandbox, service: ctx.service });
    ctx.recorder.log('daemon', `Started the previous container ${id.slice(0, 12)} again`);
  } catch (e) {
    ctx.recorder.log('daemon', `Could not start the previous container ${id.slice(0, 12)} again: ${causeOf(e)}`);
  }
}

async function rollBack(
  ctx: RunContext,
  deps: RunDeps,
  created: Created,
  status: 'failed' | 'cancelled' | 'superseded',
  diagnosis: string,
  supersededBy?: string,
): Promise<void> {
  const rec = ctx.recorder;
  created.keepSource = false;
  if (created.containerId) {
    try {
      await deps.docker().removeContainer(created.containerId, { sandbox: ctx.sandbox, service: ctx.service });
      rec.log('daemon', `Removed the new container ${created.containerId.slice(0, 12)}; the previous one (if any) keeps serving`);
    } catch (e) {
      rec.log('daemon', `Could not remove the new container ${created.containerId.slice(0, 12)}: ${causeOf(e)} (it is removed at the next daemon start)`);
    }
  }
  if (created.stoppedPrevious) await restartPrevious(ctx, deps, created.stoppedPrevious);
  rec.log('daemon', diagnosis);
  try {
    deps.store.transaction(() => {
      releaseDeploymentPorts(deps.ports, ctx.id);
      rec.status(status, { diagnosis, finishedAt: deps.now().toISOString(), ...(supersededBy ? { supersededBy } : {}) });
    });
  } catch (e) {
    deps.log.error('Could not record the end of a deployment', { deployment: ctx.id, error: e });
    rec.status(status, { diagnosis, finishedAt: deps.now().toISOString() });
  }
}
