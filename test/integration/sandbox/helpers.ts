/** Shared steps of the sandbox tests: what a sandbox left labelled on the engine. */
import { docker } from '../../helpers/docker-fixtures';

/** How many containers and networks (any state) carry `branchbox.sandbox=<sandbox>`. */
export async function labelled(sandbox: string): Promise<{ containers: number; networks: number }> {
  const filters = JSON.stringify({ label: [`branchbox.sandbox=${sandbox}`] });
  const [containers, networks] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
  ]);
  return { containers: containers.length, networks: networks.length };
}
