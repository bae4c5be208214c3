/**
 * Handlers of the Docker namespace (schemas/src/docker.ts): containers, images, networks,
 * volumes and the event feed. `container/list` answers from the container model; the rest go
 * to the engine through the Docker client interfaces. What leaves for a client passes the
 * daemon's Redactor: an inspected container's environment values that are secrets (by value,
 * or by key under the one secret-key rule) read `***`, and every other string of an answer or
 * event (labels, command, entrypoint, health probe output, names) has secret values masked.
 */
import type { dockerMethods } from '../../../schemas/src/docker';
import { containerRefForEngine } from '../../../schemas/src/docker-refs';
import type { ContainerModel } from '../docker/container-model';
import type { DockerEngine } from '../docker/engine';
import type { UserContainerActions } from '../docker/scoped-docker';
import type { ContainerDetails, DockerObjectType } from '../docker/types';
import type { HandlerGroup } from '../rpc/handlers';
import { REDACTED, Redactor } from '../runtime/redactor';

export interface DockerHandlerDeps {
  readonly engine: DockerEngine;
  readonly model: ContainerModel;
  /** start/stop/restart/remove of what the user names: refused (Conflict) on another Branchbox instance's containers. */
  readonly containers: UserContainerActions;
  /** The daemon's Redactor (default: one that knows no secret values, only the key rule). */
  readonly redactor?: Redactor;
}

type DockerMethod = keyof typeof dockerMethods;

export function dockerHandlers(deps: DockerHandlerDeps): HandlerGroup<DockerMethod> {
  const docker = () => deps.engine.client();
  const redactor = deps.redactor ?? new Redactor();
  const masked = <T>(value: T): T => redactor.redactStrings(value);
  return {
    'container/list': async (p) => ({
      containers: masked(await deps.model.list({ all: p.all, label: p.label, state: p.state, sandbox: p.sandbox })),
    }),
    'container/inspect': async (p) => maskContainer(await docker().containers.inspect(containerRefForEngine(p.id)), redactor),
    'container/start': async (p, ctx) => {
      await deps.containers.start(containerRefForEngine(p.id));
      ctx.log.info('Started container', { container: p.id });
      return null;
    },
    'container/stop': async (p, ctx) => {
      await deps.containers.stop(containerRefForEngine(p.id), { timeoutSeconds: p.timeout, signal: ctx.signal });
      ctx.log.info('Stopped container', { container: p.id });
      return null;
    },
    'container/restart': async (p, ctx) => {
      await deps.containers.restart(containerRefForEngine(p.id), { timeoutSeconds: p.timeout, signal: ctx.signal });
      ctx.log.info('Restarted container', { container: p.id });
      return null;
    },
    'container/remove': async (p, ctx) => {
      await deps.containers.remove(containerRefForEngine(p.id), { force: p.force, volumes: p.volumes });
      ctx.log.info('Removed container', { container: p.id, force: p.force ?? false });
      return null;
    },
    'image/list': async (p) => ({ images: masked(await docker().images.list({ all: p.all, label: p.label })) }),
    'image/remove': async (p, ctx) => {
      const removal = await docker().images.remove(p.image, { force: p.force });
      ctx.log.info('Removed image', {
        image: p.image,
        untagged: removal.untagged.length,
        deleted: removal.deleted.length,
      });
      return { untagged: removal.untagged, deleted: removal.deleted };
    },
    'image/prune': async (p, ctx) => {
      const pruned = await docker().images.prune({
        all: p.all,
        includeBase: p.includeBase,
        label: p.label,
        signal: ctx.signal,
      });
      ctx.log.info('Pruned images', {
        deleted: pruned.deleted.length,
        bytes: pruned.spaceReclaimed,
        all: p.all ?? false,
      });
      return { deleted: pruned.deleted, spaceReclaimed: pruned.spaceReclaimed };
    },
    'image/load': async (p, ctx) => {
      ctx.log.info('Loading images', { path: p.path });
      const images = await docker().images.load(p.path, { signal: ctx.signal });
      ctx.log.info('Loaded images', { path: p.path, images });
      return { images };
    },
    'network/list': async (p) => ({ networks: masked(await docker().networks.list({ label: p.label })) }),
    'volume/list': async (p) => ({ volumes: masked(await docker().volumes.list({ label: p.label })) }),
    'events/subscribe': (p, ctx) => {
      const sub = ctx.session.subscribe('events/event', { lossy: false });
      const types: ReadonlySet<DockerObjectType> | undefined = p.types?.length ? new Set(p.types) : undefined;
      // The source is shared and cannot wait for one client: when this client falls behind,
      // stop queueing for it and, once it has caught up, tell it to refetch instead.
      let behind = false;
      const push = (item: Parameters<typeof sub.push>[0]) => {
        if (behind || sub.push(masked(item))) return;
        behind = true;
        void sub.waitForDrain().then(() => {
          behind = false;
          sub.push({ type: 'resync', reason: 'Events were dropped because the client read too slowly.' });
        });
      };
      const off = [
        deps.model.on('event', (event) => {
          if (!types || types.has(event.type)) push(event);
        }),
        deps.model.on('resync', (reason) => push({ type: 'resync', reason })),
      ];
      sub.signal.addEventListener('abort', () => off.forEach((stop) => stop()), { once: true });
      return { subscription: sub.id };
    },
  };
}

/**
 * The container as a client may see it: environment values that are secrets — a value that is
 * (or contains) a secret value, or any value of a key the secret-key rule names — read `***`;
 * every other string (labels, command, entrypoint, args, probe output, error) has secret
 * values masked.
 */
export function maskContainer(details: ContainerDetails, redactor: Redactor): ContainerDetails {
  const env = details.env.map((entry) => {
    const eq = entry.indexOf('=');
    if (eq <= 0) return redactor.redactText(entry);
    const key = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    const secret = redactor.isSecretKey(key) || redactor.isSecretValue(value) || redactor.redactText(value) !== value;
    return `${redactor.redactText(key)}=${secret ? REDACTED : value}`;
  });
  return { ...redactor.redactStrings({ ...details, env: [] }), env };
}
