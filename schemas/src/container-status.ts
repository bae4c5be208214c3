/**
 * The human-readable container status the docker CLI prints ("Up 5 minutes (healthy)",
 * "Exited (0) 2 hours ago"), computed from the container's facts so a cached summary can
 * say it afresh at any moment instead of repeating what was true when it was fetched: the
 * daemon words `status` with it, and the clients word it again as time passes.
 */
import type { ContainerSummary, HealthState } from './docker';

type StatusFacts = Pick<ContainerSummary, 'state' | 'health' | 'startedAt' | 'finishedAt' | 'exitCode'>;

/** The status text as Docker's `State.String()` words it, as of `now` (ms since the epoch). */
export function describeStatus(c: StatusFacts, now: number): string {
  const since = (iso: string | undefined) => humanDuration(iso ? now - Date.parse(iso) : 0);
  switch (c.state) {
    case 'running':
      return c.health ? `Up ${since(c.startedAt)} (${healthText(c.health)})` : `Up ${since(c.startedAt)}`;
    case 'paused':
      return `Up ${since(c.startedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${c.exitCode ?? 0}) ${since(c.finishedAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      if (!c.startedAt) return 'Created';
      if (!c.finishedAt) return '';
      return `Exited (${c.exitCode ?? 0}) ${since(c.finishedAt)} ago`;
  }
}

/** The health as the status text shows it. */
export function healthText(health: HealthState): string {
  return health === 'starting' ? 'health: starting' : health;
}

/** The health named in a status text from Docker's container list, if any. */
export function healthFromStatus(status: string): HealthState | undefined {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status);
  if (!m) return undefined;
  return m[1] === 'health: starting' ? 'starting' : (m[1] as HealthState);
}

/** go-units' HumanDuration, which the docker CLI uses. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}
