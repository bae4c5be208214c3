/**
 * The composition root of branchboxd: takes the state directory, opens the state store,
 * connects to Docker, wires every handler into the dispatcher and serves it on the
 * transports; and takes it all down again, in reverse, on shutdown.
 */
import { join } from 'node:path';
import type { DaemonOptions } from './config';
import { Dispatcher } from './rpc/dispatcher';
import type { Handlers } from './rpc/handlers';
import { Session } from './rpc/session';
import { serveStdio } from './rpc/stdio';
import type { Connection } from './rpc/transport';
import { startWsServer, type WsServer } from './rpc/ws-server';
import { lifecycleHandlers } from './methods/lifecycle';
import { acquireInstanceLock } from './runtime/lock';
import { createFileLogger, type FileLogger, type Logger } from './runtime/log';
import { Redactor, redactedConnection } from './runtime/redactor';
import { LogTap } from './runtime/log-tap';
import { createToken, ensureStateDir, removeRuntimeFile, writeRuntimeFile } from '../../schemas/node/runtime-file';
import { AuditTrail } from './state/audit';
import { openStore } from './state/store';
import { instanceId, LABELS } from './docker/labels';
import { ContainerModel } from './docker/container-model';
import { DockerEngine } from './docker/engine';
import { Ownership } from './docker/ownership';
import { ScopedDocker } from './docker/scoped-docker';
import { trackManagedContainers } from './docker/managed-stats';
import { StatsCollector } from './docker/streams/stats';
import { dockerHandlers } from './methods/docker';
import { dockerStreamHandlers } from './methods/docker-streams';
import { openSandboxModule } from './sandbox/module';
import { validateSandboxName } from './sandbox/names';
import { DeployPipeline, deployDockerOf } from './deploy/pipeline';
import { deployHandlers } from './methods/deploy';
import { startGateways } from './gateway/setup';
import { routeHandlers } from './methods/route';
import { openLifecycleModule } from './lifecycle/module';
import { gatedDeployStart } from './methods/sandbox-lifecycle';
import { SandboxService } from './sandbox/sandbox-service';
import { GitSource } from './deploy/git-source';
import { parseProject } from './project/load';
import { trustHandlers } from './methods/trust';
import { imageHandlers } from './methods/images';
import { HostCommandGate } from './trust/host-commands';
import { TrustStore } from './trust/trust-store';

/** How long in-flight requests may take to finish once shutdown begins. */
const SHUTDOWN_GRACE_MS = 5_000;

export interface RunningDaemon {
  readonly port: number;
  readonly stateDir: string;
  /** Resolves once the daemon has fully stopped. */
  readonly stopped: Promise<void>;
  /** The daemon log, for what the entry point reports (faults nothing else caught). */
  readonly log: Logger;
  shutdown(reason: string): Promise<void>;
}

export async function startDaemon(opts: DaemonOptions, version: string): Promise<RunningDaemon> {
  ensureStateDir(opts.stateDir);
  const lock = acquireInstanceLock(opts.stateDir);
  const redactor = new Redactor();
  const logTap = new LogTap();
  let log: FileLogger | undefined;
  const undo: (() => void | Promise<void>)[] = [() => lock.release()];
  const unwind = async () => {
    for (const step of undo.reverse()) await step();
  };
  try {
    log = createFileLogger({
      stateDir: opts.stateDir,
      level: opts.logLevel,
      mirrorToStderr: opts.logStderr,
      redactor,
      tap: (line) => logTap.write(line),
    });
    const logger = log;
    undo.push(() => logger.close());
    const store = openStore(join(opts.stateDir, 'state.db'), { log: logger });
    undo.push(() => store.close());
    const audit = new AuditTrail(store, redactor);
    // Everything the daemon creates in Docker carries its instance label (and the --label
    // extras); it renames, stops or removes only objects whose labels say they are its own.
    const instance = instanceId(opts.stateDir);
    const labels = { ...opts.extraLabels, [LABELS.instance]: instance };
    const ownership = new Ownership(instance, opts.extraLabels);

    // --- Docker (daemon/src/docker/): one engine connection (reconnecting by itself), the
    // container model fed by its event stream, the shared stats collector. The daemon runs
    // without an engine; Docker-backed methods then answer DockerUnavailable.
    const engine = new DockerEngine({ log: logger.child({ component: 'docker' }), dockerHost: opts.dockerHost });
    await engine.start();
    undo.push(() => engine.stop());
    const model = new ContainerModel(engine, { log: logger.child({ component: 'containers' }) });
    undo.push(() => model.close());
    const stats = new StatsCollector(() => engine.dockerode(), { recovery: engine });
    undo.push(() => stats.close());
    undo.push(trackManagedContainers(model, stats, logger));
    // The one label-scoped client every feature (and container/start|stop|restart|remove) goes through.
    const scoped = new ScopedDocker(() => engine.client(), ownership);
    const dockerMethods = {
      ...dockerHandlers({ engine, model, containers: scoped.user, redactor }),
      ...dockerStreamHandlers({ docker: () => engine.dockerode(), recovery: engine, stats, redactor }),
    };

    // --- Sandboxes (daemon/src/sandbox/): ports, environments, templates, snapshots, audit/list.
    const sandboxModule = openSandboxModule({
      store,
      stateDir: opts.stateDir,
      redactor,
      log: logger,
      docker: scoped,
      portRanges: opts.portRanges,
    });
    // --- Trust (daemon/src/trust/): the host build commands the user trusted; trust/* handlers.
    const trust = new TrustStore(store);
    // --- The deploy pipeline (daemon/src/deploy/): deploy/* handlers; at
    // start, deployments a previous process left unfinished become failed and their containers
    // are removed (again whenever the engine reconnects); at shutdown, running ones are cancelled.
    const deploys = new DeployPipeline({
      store,
      stateDir: opts.stateDir,
      docker: deployDockerOf(() => engine.dockerode(), scoped, () => engine.connection?.endpoint),
      loadProject: sandboxModule.loadProject,
      sandboxes: sandboxModule.sandboxes,
      ports: sandboxModule.ports,
      environments: sandboxModule.environments,
      validateSandboxName,
      redactor,
      log: logger,
      extraLabels: ownership.labels(),
      ensureNetwork: (sandbox) => sandboxModule.docker.ensureNetwork(sandbox),
      trust,
    });
    await deploys.recover();
    const stopReaping = engine.on('connected', () => void deploys.reap());
    undo.push(() => deploys.shutdown());
    undo.push(stopReaping);
    const hostCommands = new HostCommandGate({ trust, git: new GitSource(join(opts.stateDir, 'deploy')), loadProject: sandboxModule.loadProject, parseProject });
    const deployMethods = deployHandlers({ deploys, hostCommands });

    // --- Gateways and routes (daemon/src/gateway/): the shared gateway (--gateway-port,
    // default 41080, a free one when that is taken) and one gateway per
    // sandbox on its allocated 127.0.0.1 port, opened now for every sandbox and then on each
    // sandbox/create, closed on sandbox/delete and at shutdown; route/* and gateway/info.
    const routing = await startGateways({
      sandboxes: sandboxModule.sandboxes,
      ports: sandboxModule.ports,
      loadProject: sandboxModule.loadProject,
      log: logger.child({ component: 'gateway' }),
      sharedPort: opts.sharedGatewayPort,
      sharedPortFallback: opts.sharedGatewayPortIsDefault,
    });
    undo.push(() => routing.stop());
    const routeMethods = routeHandlers({ sandboxes: sandboxModule.sandboxes, source: routing.source, gateways: routing.gateways });

    // --- Sandbox lifecycle (daemon/src/lifecycle/): sandbox/suspend and
    // sandbox/resume (containers stopped and started again, rows and ports kept); the health
    // monitor (checks every --health-interval-ms, restarts unhealthy containers with backoff,
    // sandbox/watchHealth, sandbox/uptime); the reconciler (at start, on engine reconnect and
    // every --reconcile-interval-ms: adopt, forget vanished containers, reap orphaned
    // containers, networks and images of this instance after --orphan-grace-ms — images but the
    // --keep-images newest of each service and those in use; image/reclaim at once —, release ports
    // of no sandbox); the expiry reaper (TTL policies checked
    // every --expiry-interval-ms: warn, suspend as expired, delete after retention — audited as
    // client "branchboxd"; sandbox/extend, sandbox/watchExpiry); deploy/start into a suspended or
    // expired sandbox answers Conflict, and one beyond the resource limits (--sandbox-cpus,
    // --sandbox-memory, --host-memory-threshold, the sandbox's per-container resources)
    // answers ResourceLimit.
    const expiryDeletes = new SandboxService({ ...sandboxModule, deploys, log: logger });
    const lifecycle = openLifecycleModule({
      store,
      deployments: deploys.deployments,
      sandboxes: sandboxModule.sandboxes,
      ports: sandboxModule.ports,
      extraLabels: labels,
      docker: scoped,
      loadProject: sandboxModule.loadProject,
      cancelInFlight: (sandbox, reason) => deploys.cancelInFlight(sandbox, reason),
      log: logger,
      healthIntervalMs: opts.lifecycle?.healthIntervalMs,
      restartPolicy: {
        ...(opts.lifecycle?.maxRestarts !== undefined ? { maxRestarts: opts.lifecycle.maxRestarts } : {}),
        ...(opts.lifecycle?.restartBackoffMs !== undefined ? { backoffMs: opts.lifecycle.restartBackoffMs } : {}),
      },
      reconcileIntervalMs: opts.lifecycle?.reconcileIntervalMs,
      orphanGraceMs: opts.lifecycle?.orphanGraceMs,
      keepImagesPerService: opts.lifecycle?.keepImagesPerService,
      deleteSandbox: (name) => expiryDeletes.delete(name),
      lastGatewayRequest: (sandbox) => routing.gateways.lastRequestAt(sandbox),
      audit: (entry) => audit.record(entry),
      expiryIntervalMs: opts.lifecycle?.expiryIntervalMs,
      expiryWarningMs: opts.lifecycle?.expiryWarningMs,
      resourceLimits: {
        ...(opts.lifecycle?.sandboxNanoCpus !== undefined ? { sandboxNanoCpus: opts.lifecycle.sandboxNanoCpus } : {}),
        ...(opts.lifecycle?.sandboxMemoryBytes !== undefined ? { sandboxMemoryBytes: opts.lifecycle.sandboxMemoryBytes } : {}),
        ...(opts.lifecycle?.hostMemoryThreshold !== undefined ? { hostMemoryThreshold: opts.lifecycle.hostMemoryThreshold } : {}),
      },
    });
    lifecycle.start();
    undo.push(() => lifecycle.stop());
    undo.push(engine.on('connected', () => lifecycle.reconciler.trigger()));
    // Built last: every sandbox they answer with carries its health from the monitor above.
    const sandboxMethods = sandboxModule.handlers({ deploys, view: (s) => lifecycle.health.withHealth(s) });
    const lifecycleMethods = {
      ...lifecycle.handlers,
      'deploy/start': gatedDeployStart(deployMethods['deploy/start'], sandboxModule.sandboxes, (p) => lifecycle.gate.check(p)),
    };

    const sessions = new Set<Session>();
    let shuttingDown = false;
    let stopping: Promise<void> | undefined;
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));

    const handlers: Handlers = {
      ...lifecycleHandlers({
        version,
        stateDir: opts.stateDir,
        instance,
        database: { path: store.path, schemaVersion: store.schemaVersion },
        dockerStatus: () => engine.status(),
        images: () => lifecycle.reconciler.imageRetention(),
        connectionCount: () => sessions.size,
        logTap,
        requestShutdown: (reason) => setImmediate(() => void shutdown(reason)),
      }),
      ...dockerMethods,
      ...sandboxMethods,
      ...deployMethods,
      ...routeMethods,
      ...trustHandlers({ trust }),
      ...imageHandlers({ reconciler: lifecycle.reconciler }),
      ...lifecycleMethods,
    };
    const dispatcher = new Dispatcher({
      handlers,
      log: logger,
      audit: (entry) => audit.record(entry),
      isShuttingDown: () => shuttingDown,
      validateResults: opts.validateResults,
    });

    const accept = (transport: Connection) => {
      // The last net: no message reaches a client with a secret value in it.
      const connection = redactedConnection(transport, redactor);
      const session = new Session(connection, logger.child({ conn: connection.label }));
      sessions.add(session);
      logger.debug('connection opened', { conn: connection.label });
      return {
        message: (text: string) => void dispatcher.receive(text, session),
        closed: () => {
          sessions.delete(session);
          session.close();
        },
      };
    };

    const token = createToken();
    redactor.addSecret(token);
    let ws: WsServer | undefined;
    try {
      ws = await startWsServer({
        port: opts.port,
        fallbackToFreePort: opts.portIsDefault,
        token,
        allowedOrigins: opts.allowedOrigins,
        maxPayload: opts.maxPayload,
        heartbeatMs: opts.heartbeatMs,
        log: logger,
        accept,
      });
    } catch (e) {
      throw new Error(`Cannot listen on 127.0.0.1:${opts.port}: ${(e as Error).message}`);
    }
    const server = ws;
    undo.push(() => server.close({ terminate: true }));
    writeRuntimeFile(opts.stateDir, { port: server.port, token, pid: process.pid, version });
    undo.push(() => void removeRuntimeFile(opts.stateDir));
    logger.info('branchboxd started', { version, port: server.port, stateDir: opts.stateDir, instance, pid: process.pid });

    if (opts.stdio) {
      serveStdio({
        input: process.stdin,
        output: process.stdout,
        maxPayload: opts.maxPayload,
        log: logger,
        accept,
        onEnd: () => void shutdown('stdin closed'),
      });
      // An open stdin keeps the process alive after a stop by `shutdown` or a signal.
      undo.push(() => void process.stdin.destroy());
    }

    async function shutdown(reason: string): Promise<void> {
      if (stopping) return stopping;
      shuttingDown = true;
      logger.info('shutting down', { reason });
      stopping = (async () => {
        const settled = Promise.all([dispatcher.idle(), ...[...sessions].map((s) => s.endSubscriptions())]);
        await Promise.race([settled, new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS).unref())]);
        await server.close();
        for (const session of sessions) session.close();
        sessions.clear();
        logger.info('branchboxd stopped');
        await unwind();
        resolveStopped();
      })();
      return stopping;
    }

    return { port: server.port, stateDir: opts.stateDir, stopped, log: logger, shutdown };
  } catch (e) {
    log?.error('start failed', { error: (e as Error).message });
    await unwind();
    throw e;
  }
}
