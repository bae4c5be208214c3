/** The aggregate {@link DockerClient} over one dockerode connection. */
import type Docker from 'dockerode';
import type { DockerClient } from '../types';
import { DockerodeContainerClient } from './containers';
import { DockerodeEventClient } from './events';
import { DockerodeImageClient } from './images';
import { DockerodeNetworkClient } from './networks';
import { DockerodeSystemClient } from './system';
import { DockerodeVolumeClient } from './volumes';

/** Every resource client over `docker`, reached at `endpoint` (printable, for messages). */
export function createDockerodeClient(docker: Docker, endpoint: string): DockerClient {
  return {
    containers: new DockerodeContainerClient(docker, endpoint),
    images: new DockerodeImageClient(docker, endpoint),
    networks: new DockerodeNetworkClient(docker, endpoint),
    volumes: new DockerodeVolumeClient(docker, endpoint),
    events: new DockerodeEventClient(docker, endpoint),
    system: new DockerodeSystemClient(docker, endpoint),
    endpoint,
  };
}
