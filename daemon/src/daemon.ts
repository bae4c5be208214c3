/**
 * The composition root of branchboxd, one named step per part: takes the state directory,
 * opens the log and the state, connects to Docker, opens the sandbox module, starts the
 * deploy pipeline, the gateways and the sandbox lifecycle, gathers every handler and serves
 * them (`serve.ts`). Each step pushes what undoes it; a failed start, and shutdown, undo them
 * all in reverse.
 */
import { join } from 'node:path';
import type { DaemonOptions } from './config';
import type { HandlerGroup, Handlers } from './rpc/handlers';
import type { Session } from './rpc/session';
import { daemonHandlers } from './methods/daemon';
import { acquireInstanceLock } from './runtime/lock';
import { createFileLogger, type FileLogger, type Logger } from './runtime/log';
import { Redactor } from './runtime/redactor';
import { LogTap } from './runtime/log-tap';
import { ensureStateDir } from '../../schemas/node/runtime-file';
import { STATE_FILES } from '../../schemas/node/state-files';
import { serve, type RunningDaemon } from './serve';
import { AuditTrail } from './state/audit';
import { openStore, type Store } from './state/store';
import { instanceId, LABELS } from './docker/labels';
import { ContainerModel } from './docker/container-model';
import { DockerEngine } from './docker/engine';
import { Ownership } from './docker/ownership';
import { ScopedDocker } from './docker/scoped-docker';
import { trackManagedContainers } from './docker/managed-stats';
import { StatsCollector } from './docker/streams/stats';
import { dockerHandlers } from './methods/docker';
import { dockerStreamHandlers } from './methods/docker-streams';
import { openSandboxModule, type SandboxModule } from './sandbox/module';
import type { Sandbox } from './sandbox/sandbox-store';
import { validateSandboxName } from './sandbox/names';
import { DeployPipeline, deployDockerOf } from './deploy/pipeline';
import { deployHandlers, deployStart, gatedStart, type DeployHandlerDeps } from './methods/deploy';
import { startGateways } from './gateway/setup';
import { routeHandlers } from './methods/route';
import { openLifecycleModule } from './lifecycle/module';
import { gatedDeployStart } from './methods/sandbox-lifecycle';
import { SandboxService } from './sandbox/sandbox-service';
import { GitSource } from './deploy/git-source';
import { REQUESTED_BY } from './deploy/requesters';
import { HeldServices } from './lifecycle/held-services';
import { parseProject } from './project/load';
import { trustHandlers } from './methods/trust';
import { imageHandlers } from './methods/images';
import { HostCommandGate } from './trust/host-commands';
import { TrustStore } from './trust/trust-store';
import { ForwardStore } from './forward/forward-store';
import { Forwards } from './forward/forwards';
import { servingTargets } from './forward/serving-targets';
import { forwardHandlers } from './methods/forward';
import { Watches } from './watch/watches';
import { watchHandlers } from './methods/watch';
import { Follows } from './follow/follows';
import { followHandlers } from './methods/follow';

export type { RunningDaemon };

/** Steps undone in reverse order when start fails or at shutdown. */
export type Undo = (() => void | Promise<void>)[];

export async function startDaemon(opts: DaemonOptions, version: string): Promise<RunningDaemon> {
  ensureStateDir(opts.stateDir);
  const lock = acquireInstanceLock(opts.stateDir);
  const redactor = new Redactor();
  const logTap = new LogTap();
  let log: FileLogger | undefined;
  const undo: Undo = [() => lock.release()];
  const unwind = async () => {
    for (const step of undo.reverse()) await step();
  };
  try {
    log = openLog(opts, redactor, logTap, undo);
    const state = openState(opts, log, redactor, undo);
    const docker = await connectDocker(opts, log, state, redactor, undo);
    const sandboxModule = openSandboxModule({
      store: state.store,
      stateDir: opts.stateDir,
      redactor,
      log,
      docker: docker.scoped,
      portRanges: opts.portRanges,
    });
    // --- Trust (daemon/src/trust/): the host build commands the user trusted; trust/* handlers.
    const trust = new TrustStore(state.store);
    const deploys = await startDeployPipeline(opts, log, state, docker, sandboxModule, trust, redactor, undo);
    const routing = await startRouting(opts, log, sandboxModule, undo);
    const lifecycle = startSandboxLifecycle(opts, log, state, docker, sandboxModule, deploys, routing, undo);
    const forwards = await startForwards(log, state, docker, sandboxModule, undo);
    const watches = startWatches(opts, log, docker, sandboxModule, deploys, lifecycle, redactor, undo);
    const view = (s: Sandbox) => lifecycle.module.health.withHealth(s);
    const follows = startFollows(opts, log, sandboxModule, deploys, lifecycle.start, view, undo);
    const sessions = new Set<Session>();
    // `shutdown` asks for what `serve` makes last, from its handlers: bound once it exists.
    let requestShutdown: (reason: string) => void = () => undefined;
    const handlers: Handlers = {
      ...daemonHandlers({
        version,
        stateDir: opts.stateDir,
        instance: state.instance,
        database: { path: state.store.path, schemaVersion: state.store.schemaVersion },
        dockerStatus: () => docker.engine.status(),
        images: () => lifecycle.module.reconciler.imageRetention(),
        connectionCount: () => sessions.size,
        logTap,
        requestShutdown: (reason) => setImmediate(() => requestShutdown(reason)),
      }),
      ...docker.methods,
      // Built after the lifecycle: every sandbox they answer with carries its health from the monitor.
      ...sandboxModule.handlers({ deploys: deploys.pipeline, view }),
      ...deploys.methods,
      ...routing.methods,
      ...trustHandlers({ trust }),
      ...imageHandlers({ reconciler: lifecycle.module.reconciler }),
      ...lifecycle.methods,
      ...forwards.methods,
      ...watches.methods,
      ...follows.methods,
    };
    const running = await serve(opts, version, log, state.instance, redactor, handlers, state.audit, sessions, undo, unwind);
    requestShutdown = (reason) => void running.shutdown(reason);
    return running;
  } catch (e) {
    log?.error('start failed', { error: (e as Error).message });
    await unwind();
    throw e;
  }
}

/** The daemon log (JSON lines, rotated, redacted), also fed to `log/subscribe`. */
function openLog(opts: DaemonOptions, redactor: Redactor, logTap: LogTap, undo: Undo): FileLogger {
  const log = createFileLogger({
    stateDir: opts.stateDir,
    level: opts.logLevel,
    mirrorToStderr: opts.logStderr,
    redactor,
    tap: (line) => logTap.write(line),
  });
  undo.push(() => log.close());
  return log;
}

interface State {
  readonly store: Store;
  readonly audit: AuditTrail;
  readonly instance: string;
  /** This instance's label and the --label extras. */
  readonly labels: Readonly<Record<string, string>>;
  readonly ownership: Ownership;
}

/** The state database, the audit trail, and who this daemon is on the engine. */
function openState(opts: DaemonOptions, log: Logger, redactor: Redactor, undo: Undo): State {
  const store = openStore(join(opts.stateDir, STATE_FILES.database), { log });
  undo.push(() => store.close());
  const audit = new AuditTrail(store, redactor);
  // Everything the daemon creates in Docker carries its instance label (and the --label
  // extras); it renames, stops or removes only objects whose labels say they are its own.
  const instance = instanceId(opts.stateDir);
  const labels = { ...opts.extraLabels, [LABELS.instance]: instance };
  return { store, audit, instance, labels, ownership: new Ownership(instance, opts.extraLabels) };
}

interface DockerParts {
  readonly engine: DockerEngine;
  /** The container cache fed by the engine's event stream. */
  readonly model: ContainerModel;
  /** The one label-scoped client every feature (and container/start|stop|restart|remove) goes through. */
  readonly scoped: ScopedDocker;
  readonly methods: HandlerGroup<DockerMethod>;
}

type DockerMethod = keyof ReturnType<typeof dockerHandlers> | keyof ReturnType<typeof dockerStreamHandlers>;

/**
 * Docker (daemon/src/docker/): one engine connection (reconnecting by itself), the container
 * model fed by its event stream, the shared stats collector. The daemon runs without an
 * engine; Docker-backed methods then answer DockerUnavailable.
 */
async function connectDocker(opts: DaemonOptions, log: Logger, state: State, redactor: Redactor, undo: Undo): Promise<DockerParts> {
  const engine = new DockerEngine({ log: log.child({ component: 'docker' }), dockerHost: opts.dockerHost });
  await engine.start();
  undo.push(() => engine.stop());
  const model = new ContainerModel(engine, { log: log.child({ component: 'containers' }) });
  undo.push(() => model.close());
  const stats = new StatsCollector(() => engine.dockerode(), { recovery: engine });
  undo.push(() => stats.close());
  undo.push(trackManagedContainers(model, stats, log));
  const scoped = new ScopedDocker(() => engine.client(), state.ownership);
  const methods = {
    ...dockerHandlers({ engine, model, containers: scoped.user, redactor }),
    ...dockerStreamHandlers({ docker: () => engine.dockerode(), recovery: engine, stats, redactor }),
  };
  return { engine, model, scoped, methods };
}

/**
 * The deploy pipeline (daemon/src/deploy/): deploy/* handlers; at start, deployments a
 * previous process left unfinished become failed and their containers are removed (again
 * whenever the engine reconnects); at shutdown, running ones are cancelled.
 */
async function startDeployPipeline(
  opts: DaemonOptions,
  log: Logger,
  state: State,
  docker: DockerParts,
  sandboxModule: SandboxModule,
  trust: TrustStore,
  redactor: Redactor,
  undo: Undo,
) {
  const { engine } = docker;
  const pipeline = new DeployPipeline({
    store: state.store,
    stateDir: opts.stateDir,
    docker: deployDockerOf(() => engine.dockerode(), docker.scoped, () => engine.connection?.endpoint),
    loadProject: sandboxModule.loadProject,
    sandboxes: sandboxModule.sandboxes,
    ports: sandboxModule.ports,
    environments: sandboxModule.environments,
    validateSandboxName,
    redactor,
    log,
    extraLabels: state.ownership.labels(),
    ensureNetwork: (sandbox) => sandboxModule.docker.ensureNetwork(sandbox),
    trust,
  });
  await pipeline.recover();
  const stopReaping = engine.on('connected', () => void pipeline.reap());
  undo.push(() => pipeline.shutdown());
  undo.push(stopReaping);
  const hostCommands = new HostCommandGate({ trust, git: new GitSource(join(opts.stateDir, STATE_FILES.deploy)), loadProject: sandboxModule.loadProject, parseProject });
  return { pipeline, hostCommands, methods: deployHandlers(pipeline) };
}

/**
 * Gateways and routes (daemon/src/gateway/): the shared gateway (--gateway-port, default
 * DEFAULT_SHARED_GATEWAY_PORT, a free one when that is taken) and one gateway per sandbox on its allocated
 * 127.0.0.1 port, opened now for every sandbox and then on each sandbox/create, closed on
 * sandbox/delete and at shutdown; route/* and gateway/info.
 */
async function startRouting(opts: DaemonOptions, log: Logger, sandboxModule: SandboxModule, undo: Undo) {
  const routing = await startGateways({
    sandboxes: sandboxModule.sandboxes,
    ports: sandboxModule.ports,
    loadProject: sandboxModule.loadProject,
    log: log.child({ component: 'gateway' }),
    sharedPort: opts.sharedGatewayPort,
    sharedPortFallback: opts.sharedGatewayPortIsDefault,
  });
  undo.push(() => routing.stop());
  return {
    gateways: routing.gateways,
    methods: routeHandlers({ sandboxes: sandboxModule.sandboxes, source: routing.source, gateways: routing.gateways }),
  };
}

/**
 * Sandbox lifecycle (daemon/src/lifecycle/): sandbox/suspend and sandbox/resume (containers
 * stopped and started again, rows and ports kept); the health monitor (checks every
 * --health-interval-ms, restarts unhealthy containers with backoff, sandbox/watchHealth,
 * sandbox/uptime); the reconciler (at start, on engine reconnect and every
 * --reconcile-interval-ms: adopt, forget vanished containers, reap orphaned containers,
 * networks and images of this instance after --orphan-grace-ms — images but the
 * --keep-images newest of each service and those in use; image/reclaim at once —, release
 * ports of no sandbox); the expiry reaper (TTL policies checked every --expiry-interval-ms:
 * warn, suspend as expired, delete after retention — audited as client "branchboxd";
 * sandbox/extend, sandbox/watchExpiry); deploy/start into a suspended or expired sandbox
 * answers Conflict, and one beyond the resource limits (--sandbox-cpus, --sandbox-memory,
 * --host-memory-threshold, the sandbox's per-container resources) answers ResourceLimit.
 */
function startSandboxLifecycle(
  opts: DaemonOptions,
  log: Logger,
  state: State,
  docker: DockerParts,
  sandboxModule: SandboxModule,
  { pipeline: deploys, hostCommands }: Awaited<ReturnType<typeof startDeployPipeline>>,
  routing: Awaited<ReturnType<typeof startRouting>>,
  undo: Undo,
) {
  const timing = opts.lifecycle;
  const held = new HeldServices();
  // The expiry reaper deletes an expired sandbox as sandbox/delete does.
  const sandboxService = new SandboxService({ ...sandboxModule, deploys, log });
  const module = openLifecycleModule({
    store: state.store,
    deployments: deploys.deployments,
    sandboxes: sandboxModule.sandboxes,
    ports: sandboxModule.ports,
    extraLabels: state.labels,
    docker: docker.scoped,
    loadProject: sandboxModule.loadProject,
    cancelInFlight: (sandbox, reason) => deploys.cancelInFlight(sandbox, reason),
    redeploy: async (sandbox, serving) => {
      const { repoPath } = sandboxModule.sandboxes.require(sandbox);
      if (repoPath === undefined) return { running: false, detail: 'the sandbox has no repository to deploy from' };
      const { deployments } = deploys.start({
        repoPath,
        sandbox,
        services: [serving.service],
        ...(serving.branch !== undefined ? { ref: serving.branch } : {}),
        ...(serving.commit !== undefined ? { commit: serving.commit } : {}),
        requestedBy: REQUESTED_BY.resume,
      });
      const final = await deploys.waitFinal(deployments.find((d) => d.service === serving.service)!.id);
      return {
        running: final.status === 'running',
        ...(final.containerId ? { containerId: final.containerId } : {}),
        ...(final.hostPort ? { hostPort: final.hostPort } : {}),
        detail: final.diagnosis ?? final.status,
      };
    },
    // Down on purpose: a deployment replacing its container, or a watch restarting it after a sync.
    stoppedForReplacement: (sandbox, service) => deploys.isStoppedForReplacement(sandbox, service) || held.has(sandbox, service),
    log,
    healthIntervalMs: timing?.healthIntervalMs,
    restartPolicy: {
      ...(timing?.maxRestarts !== undefined ? { maxRestarts: timing.maxRestarts } : {}),
      ...(timing?.restartBackoffMs !== undefined ? { backoffMs: timing.restartBackoffMs } : {}),
    },
    reconcileIntervalMs: timing?.reconcileIntervalMs,
    orphanGraceMs: timing?.orphanGraceMs,
    keepImagesPerService: timing?.keepImagesPerService,
    deleteSandbox: (name) => sandboxService.delete(name),
    lastGatewayRequest: (sandbox) => routing.gateways.lastRequestAt(sandbox),
    audit: (entry) => state.audit.record(entry),
    expiryIntervalMs: timing?.expiryIntervalMs,
    expiryWarningMs: timing?.expiryWarningMs,
    resourceLimits: {
      ...(timing?.sandboxNanoCpus !== undefined ? { sandboxNanoCpus: timing.sandboxNanoCpus } : {}),
      ...(timing?.sandboxMemoryBytes !== undefined ? { sandboxMemoryBytes: timing.sandboxMemoryBytes } : {}),
      ...(timing?.hostMemoryThreshold !== undefined ? { hostMemoryThreshold: timing.hostMemoryThreshold } : {}),
    },
  });
  module.start();
  undo.push(() => module.stop());
  undo.push(docker.engine.on('connected', () => module.reconciler.trigger()));
  // The resources gated are those of every service the request deploys, dependencies added.
  const gated: DeployHandlerDeps = {
    deploys,
    hostCommands,
    resources: (req, services) => module.gate.check({ repoPath: req.repoPath, sandbox: req.sandbox, services }),
  };
  return {
    module,
    /** Services the health monitor leaves alone while they are down on purpose (a watch's restart). */
    held,
    /** A deploy the daemon starts on a user's behalf, checked as `deploy/start` checks one. */
    start: gatedStart(gated),
    methods: {
      ...module.handlers,
      'deploy/start': gatedDeployStart(deployStart(gated), sandboxModule.sandboxes),
    },
  };
}

/**
 * Forwards (daemon/src/forward/): a stable 127.0.0.1 port per forwarded service port, whose new
 * connections reach the project's current sandbox (looked up in the container model per
 * connection); listening again now for every stored forward, connections to a container that
 * stops or goes away ended, closed at shutdown; forward/*.
 */
async function startForwards(log: Logger, state: State, docker: DockerParts, sandboxModule: SandboxModule, undo: Undo) {
  const forwards = new Forwards({
    store: new ForwardStore(state.store),
    sandboxes: sandboxModule.sandboxes,
    resolve: servingTargets(docker.model, state.instance),
    loadProject: sandboxModule.loadProject,
    log: log.child({ component: 'forward' }),
  });
  undo.push(() => forwards.stop());
  await forwards.start();
  undo.push(
    docker.model.on('event', (e) => {
      if (e.type === 'container' && (e.action === 'die' || e.action === 'destroy')) forwards.containerGone(e.id);
    }),
  );
  return { forwards, methods: forwardHandlers({ forwards }) };
}

/**
 * Watch mode (daemon/src/watch/): watches of working trees, one per sandbox, in memory only;
 * each change synced into the serving container (sync, sync+restart) or deployed again from
 * the working tree (rebuild, through the pipeline behind the same resource and trust checks as
 * deploy/start); stopped with their sandbox (deleted, suspended), when a deployment not their own
 * nor the followed branch's takes a watched service over, and at shutdown, before the pipeline
 * and Docker go; watch/*.
 */
function startWatches(
  opts: DaemonOptions,
  log: Logger,
  docker: DockerParts,
  sandboxModule: SandboxModule,
  { pipeline }: Awaited<ReturnType<typeof startDeployPipeline>>,
  { start, held }: Pick<ReturnType<typeof startSandboxLifecycle>, 'start' | 'held'>,
  redactor: Redactor,
  undo: Undo,
) {
  const watches = new Watches({
    restartingOnPurpose: (sandbox, service) => held.hold(sandbox, service),
    docker: docker.scoped,
    git: new GitSource(join(opts.stateDir, STATE_FILES.deploy)),
    sandboxes: sandboxModule.sandboxes,
    loadProject: sandboxModule.loadProject,
    // A line can quote the container (an rm that failed, a health probe's answer): masked before it is stored, as the recorder's are.
    appendLog: (deployment, source, line) => void pipeline.deployments.appendLog(deployment, source, redactor.redactText(line), new Date()),
    rebuild: async ({ repoPath, sandbox, service, signal }) => {
      const started = await start({ repoPath, sandbox, services: [service], includeUncommitted: true, requestedBy: REQUESTED_BY.watch }, signal);
      const id = started.deployments.find((d) => d.service === service)!.id;
      const cancel = () => void pipeline.cancel(id, 'a later deployment took the service over from the watch');
      if (signal.aborted) cancel();
      signal.addEventListener('abort', cancel, { once: true });
      try {
        const record = await pipeline.waitFinal(id);
        return { deployment: id, status: record.status, ...(record.diagnosis ? { diagnosis: record.diagnosis } : {}) };
      } finally {
        signal.removeEventListener('abort', cancel);
      }
    },
    onSwitchOver: (listener) => pipeline.onSwitchOver(listener),
    log: log.child({ component: 'watch' }),
  });
  undo.push(() => watches.stopAll('the daemon is stopping'));
  return { watches, methods: watchHandlers({ watches }) };
}

/**
 * Follow (daemon/src/follow/): following sandboxes redeploy their services when the branches
 * they serve move, each redeploy checked as `deploy/start` checks one (resource limits, trusted
 * host commands) — one ref watcher per repository with an active follower, a pass for every
 * follower now (heads that moved while the daemon was down); stopped at shutdown, before the
 * pipeline goes; sandbox/follow, follow/check.
 */
function startFollows(
  opts: DaemonOptions,
  log: Logger,
  sandboxModule: SandboxModule,
  { pipeline }: Awaited<ReturnType<typeof startDeployPipeline>>,
  start: ReturnType<typeof startSandboxLifecycle>['start'],
  view: (s: Sandbox) => Sandbox,
  undo: Undo,
) {
  const follows = new Follows({
    sandboxes: sandboxModule.sandboxes,
    pipeline,
    start,
    git: new GitSource(join(opts.stateDir, STATE_FILES.deploy)),
    log: log.child({ component: 'follow' }),
  });
  follows.start();
  undo.push(() => follows.stop());
  return { follows, methods: followHandlers({ follows, view }) };
}
