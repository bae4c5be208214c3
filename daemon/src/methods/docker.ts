/**
 * Handlers of the Docker namespace (schemas/src/docker.ts): containers, images, networks,
 * volumes and the event feed. `container/list` answers from the container model; the rest go
 * to the engine through the Docker client interfaces. Container environments leave the
 * daemon with secret-looking values masked.
 */
import type { dockerMethods } from '../../../schemas/src/docker';
import { containerRefForEngine } from '../../../schemas/src/docker-refs';
import type { ContainerModel } from '../docker/container-model';
import type { DockerEngine } from '../docker/engine';
import type { UserContainerActions } from '../docker/scoped-docker';
import type { ContainerDetails, DockerObjectType } from '../docker/types';
import type { HandlerGroup } from '../rpc/handlers';

export interface DockerHandlerDeps {
  readonly engine: DockerEngine;
  readonly model: ContainerModel;
  /** start/stop/restart/remove of what the user names: refused (Conflict) on another Branchbox instance's containers. */
  readonly containers: UserContainerActions;
}

type DockerMethod = keyof typeof dockerMethods;

/** Environment keys whose values never leave the daemon. */
const SECRET_KEY = /secret|token|password|key/i;
export const MASK = '***';

export function dockerHandlers(deps: DockerHandlerDeps): HandlerGroup<DockerMethod> {
  const docker = () => deps.engine.client();
  return {
    'container/list': async (p) => ({
      containers: await deps.model.list({ all: p.all, label: p.label, state: p.state, sandbox: p.sandbox }),
    }),
    'container/inspect': async (p) => maskEnvironment(await docker().containers.inspect(containerRefForEngine(p.id))),
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
    'image/list': async (p) => ({ images: await docker().images.list({ all: p.all, label: p.label }) }),
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
    'network/list': async (p) => ({ networks: await docker().networks.list({ label: p.label }) }),
    'volume/list': async (p) => ({ volumes: await docker().volumes.list({ label: p.label }) }),
    'events/subscribe': (p, ctx) => {
      const sub = ctx.session.subscribe('events/event', { lossy: false });
      const types: ReadonlySet<DockerObjectType> | undefined = p.types?.length ? new Set(p.types) : undefined;
      // The source is shared and cannot wait for one client: when this client falls behind,
      // stop queueing for it and, once it has caught up, tell it to refetch instead.
      let behind = false;
      const push = (item: Parameters<typeof sub.push>[0]) => {
        if (behind || sub.push(item)) return;
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

/** The container with the values of secret-looking environment keys replaced by `***`. */
export function maskEnvironment(details: ContainerDetails): ContainerDetails {
  return {
    ...details,
    env: details.env.map((entry) => {
      const eq = entry.indexOf('=');
      return eq > 0 && SECRET_KEY.test(entry.slice(0, eq)) ? `${entry.slice(0, eq + 1)}${MASK}` : entry;
    }),
  };
}
