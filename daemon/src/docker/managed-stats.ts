/**
 * Keeps stats history for every running container Branchbox manages, so a stats panel
 * opened later has the last hour filled in: tracks them at start (and after each resync of
 * the container model), untracks them when they are removed (keeping history across restarts).
 */
import type { Logger } from '../runtime/log';
import type { ContainerModel } from './container-model';
import { LABELS } from './labels';
import type { StatsCollector } from './streams/stats';
import type { ContainerSummary } from './types';

const isManaged = (labels: Readonly<Record<string, string>> | undefined) => labels?.[LABELS.managed] === 'true';

export function trackManagedContainers(model: ContainerModel, stats: StatsCollector, log: Logger): () => void {
  const track = (id: string) =>
    void stats.track(id).catch((e: unknown) => log.debug('stats tracking failed', { id, error: String(e) }));
  const trackRunning = (containers: ContainerSummary[]) => {
    for (const c of containers) if (c.state === 'running' && isManaged(c.labels)) track(c.id);
  };
  const offs = [
    model.on('event', (e) => {
      if (e.type !== 'container' || !isManaged(e.labels ?? e.container?.labels)) return;
      if (e.action === 'start' || e.action === 'restart') track(e.id);
      else if (e.action === 'destroy') stats.untrack(e.id);
    }),
    model.on('resync', () => void model.list({ all: false, label: [`${LABELS.managed}=true`] }).then(trackRunning, () => undefined)),
  ];
  return () => offs.forEach((off) => off());
}
