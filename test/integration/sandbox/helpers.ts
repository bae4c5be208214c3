/** Shared steps of the sandbox tests: port windows away from other test daemons, and what a sandbox left labelled on the engine. */
import { docker } from '../../helpers/docker-fixtures';

/**
 * Port ranges of this run's daemon, away from the defaults and picked at random, so daemons
 * of tests running at the same time on this host do not reach for the same ports.
 */
export function portWindows(): Record<string, string> {
  const service = 44_000 + 200 * Math.floor(Math.random() * 25);
  const gateway = 49_000 + 50 * Math.floor(Math.random() * 20);
  return {
    BRANCHBOX_SERVICE_PORTS: `${service}-${service + 199}`,
    BRANCHBOX_GATEWAY_PORTS: `${gateway}-${gateway + 49}`,
  };
}

/** How many containers and networks (any state) carry `branchbox.sandbox=<sandbox>`. */
export async function labelled(sandbox: string): Promise<{ containers: number; networks: number }> {
  const filters = JSON.stringify({ label: [`branchbox.sandbox=${sandbox}`] });
  const [containers, networks] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
  ]);
  return { containers: containers.length, networks: networks.length };
}
