/**
 * A Docker engine of the test's own: a second dockerd with its own data root, exec root,
 * socket and containerd namespace, in a network namespace of its own (`unshare --net`: with
 * `--bridge none` dockerd deletes the host's `docker0` otherwise) with no bridge and no
 * iptables rules, so a test can stop and start it without disturbing the machine's engine or
 * other tests. Its containers run without a network. It runs with
 * `--live-restore`: its containers keep running while it is down, as they do through a
 * restart of a production engine configured that way (and of Docker Desktop).
 *
 * The base image is copied into it from the machine's engine (`docker save | docker load`),
 * never pulled.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { BUSYBOX, docker as machineDocker } from './docker-fixtures';

const START_TIMEOUT_MS = 30_000;

export interface PrivateEngine {
  /** `unix://…` — for `--docker-host`. */
  readonly host: string;
  readonly docker: Docker;
  /** Starts dockerd and resolves once it serves its API. */
  start(): Promise<void>;
  /** SIGTERM, and resolves once dockerd has exited (its containers keep running). */
  stop(): Promise<void>;
  /** Removes every container, stops dockerd and deletes its directories. */
  dispose(): Promise<void>;
}

export async function startPrivateEngine(): Promise<PrivateEngine> {
  const dir = mkdtempSync(join(tmpdir(), 'bbx-engine-'));
  const socket = join(dir, 'docker.sock');
  const namespace = `bbxtest-${dir.slice(-6).toLowerCase()}`;
  const args = [
    '--data-root',
    join(dir, 'data'),
    '--exec-root',
    join(dir, 'exec'),
    '--pidfile',
    join(dir, 'dockerd.pid'),
    '--host',
    `unix://${socket}`,
    '--bridge',
    'none',
    '--iptables=false',
    '--ip6tables=false',
    '--ip-masq=false',
    '--live-restore',
    '--containerd-namespace',
    namespace,
    '--containerd-plugins-namespace',
    `${namespace}-plugins`,
  ];
  const docker = new Docker({ socketPath: socket });
  let child: ChildProcess | undefined;
  let output = '';

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const proc = spawn('unshare', ['--net', '--', 'dockerd', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      const timer = setTimeout(
        () => fail(new Error(`dockerd did not serve its API within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      const fail = (e: Error) => {
        clearTimeout(timer);
        reject(new Error(`${e.message}\n${output.slice(-2000)}`));
      };
      const onOutput = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(`API listen on ${socket}`)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onOutput);
      proc.stderr!.on('data', onOutput);
      proc.once('error', fail);
      proc.once('exit', (code) => fail(new Error(`dockerd exited with ${code} before serving its API`)));
    });

  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    await exited;
  };

  const engine: PrivateEngine = {
    host: `unix://${socket}`,
    docker,
    start: async () => {
      output = '';
      await start();
    },
    stop,
    dispose: async () => {
      try {
        if (!child) await start();
        const containers = await docker.listContainers({ all: true });
        await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
      } finally {
        await stop();
        unmountUnder(dir);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    await start();
    await copyImage(BUSYBOX, docker);
  } catch (e) {
    await engine.dispose().catch(() => undefined);
    throw e;
  }
  return engine;
}

/** dockerd bind-mounts its data root onto itself and leaves the mount behind when it exits. */
function unmountUnder(dir: string): void {
  const mountPoints = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mountPoints) spawnSync('umount', ['--lazy', point]);
}

/** `docker save <image> | docker -H <engine> load`. */
async function copyImage(image: string, into: Docker): Promise<void> {
  const tar = await machineDocker.getImage(image).get();
  const loading = await into.loadImage(tar);
  await new Promise<void>((resolve, reject) =>
    into.modem.followProgress(loading, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}
