/**
 * An in-memory {@link DeployDocker} for pipeline tests, which behaves like the engine would
 * with the fixture repository: a build reads the context (a Dockerfile with `RUN false`
 * fails with its lines, one with `sleep` waits until cancelled or released), and a started
 * container becomes a real HTTP server on its 127.0.0.1 host port answering like the
 * fixture's server.js of that source (its branch, a failing health check, or an exit).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { isGeneratedLabel } from '../../../daemon/src/deploy/build-context';
import { BUILD_TAIL, BuildOutput } from '../../../daemon/src/deploy/build-output';
import {
  BuildFailure,
  type BuildSpec,
  type ContainerSpec,
  type DeployContainerState,
  type DeployDocker,
  type LabelledContainer,
} from '../../../daemon/src/deploy/deploy-docker';
import { RpcError } from '../../../daemon/src/rpc/errors';

type Behaviour = { kind: 'serve'; answer: string; health: number } | { kind: 'crash'; code: number; lines: string[] };

interface FakeContainer {
  id: string;
  name: string;
  spec: ContainerSpec;
  labels: Record<string, string>;
  /** Network aliases, by network name. */
  aliases: Record<string, string[]>;
  running: boolean;
  exitCode: number;
  server?: Server;
  exitWaiters: (() => void)[];
}

export class FakeDocker implements DeployDocker {
  readonly images = new Map<string, Behaviour>();
  readonly containers = new Map<string, FakeContainer>();
  readonly networks = new Set<string>();
  readonly builds: BuildSpec[] = [];
  /** Resolve to let a waiting (sleeping) build finish. */
  private buildReleases: (() => void)[] = [];
  private buildStartedWaiters: ((spec: BuildSpec) => void)[] = [];
  private seq = 0;

  constructor() {
    this.images.set('branchbox/node:20', { kind: 'serve', answer: 'base', health: 200 });
  }

  /** Resolves when the next build starts. */
  nextBuild(): Promise<BuildSpec> {
    return new Promise((r) => this.buildStartedWaiters.push(r));
  }

  releaseBuilds(): void {
    for (const r of this.buildReleases.splice(0)) r();
  }

  async imageExists(ref: string): Promise<boolean> {
    return this.images.has(ref);
  }

  readonly volumes = new Set<string>();

  async ensureVolume(name: string): Promise<void> {
    this.volumes.add(name);
  }

  async runCommand(): Promise<{ exitCode: number; output: string }> {
    return { exitCode: 0, output: '' };
  }

  async imageUser(ref: string): Promise<string | undefined> {
    return this.images.has(ref) ? '' : undefined;
  }

  async buildImage(spec: BuildSpec): Promise<void> {
    this.builds.push(spec);
    for (const w of this.buildStartedWaiters.splice(0)) w(spec);
    const dockerfile = spec.context.dockerfile;
    const lines = dockerfile.split('\n').filter(Boolean);
    const failing = lines.findIndex((l) => /^RUN .*false/.test(l));
    const steps = lines.slice(0, failing >= 0 ? failing + 1 : lines.length).map((l, i) => `Step ${i + 1}/${lines.length} : ${l}`);
    // What the engine answers, read as the real adapter reads it.
    const output = new BuildOutput(spec.onLine, BUILD_TAIL, isGeneratedLabel);
    steps.forEach((line) => output.take({ stream: `${line}\n` }));
    if (failing >= 0) {
      output.take({ stream: ' ---> Running in 0123456789ab\nabout to fail\n' });
      throw new BuildFailure("The command '/bin/sh -c echo \"about to fail\" && false' returned a non-zero code: 1", output.lastLines(), output.lastStep);
    }
    if (/sleep/.test(dockerfile)) {
      spec.onLine(' ---> Running in 0123456789ab');
      await new Promise<void>((resolve, reject) => {
        this.buildReleases.push(resolve);
        spec.signal.addEventListener('abort', () => reject(spec.signal.reason as Error), { once: true });
      });
    }
    this.images.set(spec.tag, behaviourOf(readFileSync(join(spec.context.contextDir, 'server.js'), 'utf8')));
    spec.onLine(`Successfully tagged ${spec.tag}`);
  }

  /** What the sandbox module's ensureNetwork does to the engine. */
  async ensureNetwork(name: string): Promise<void> {
    this.networks.add(name);
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    if (!this.images.has(spec.image)) throw new RpcError('ImageNotFound', `No image "${spec.image}"`);
    if (!this.networks.has(spec.network)) throw new RpcError('NetworkNotFound', `No network "${spec.network}"`);
    if ([...this.containers.values()].some((c) => c.name === spec.name)) throw new RpcError('Conflict', `name ${spec.name} in use`);
    const id = `${(++this.seq).toString(16).padStart(4, '0')}${'f'.repeat(60)}`;
    const labels = { ...spec.labels, 'branchbox.managed': 'true', 'branchbox.sandbox': spec.owner.sandbox, 'branchbox.service': spec.owner.service };
    this.containers.set(id, { id, name: spec.name, spec, labels, aliases: {}, running: false, exitCode: 0, exitWaiters: [] });
    return id;
  }

  /** Set to make the next re-attachment fail (as the engine might). */
  failReattach: string | undefined;

  async reattach(network: string, id: string, aliases: readonly string[]): Promise<void> {
    if (this.failReattach !== undefined) {
      const reason = this.failReattach;
      this.failReattach = undefined;
      throw new RpcError('DockerError', reason);
    }
    if (!this.networks.has(network)) throw new RpcError('NetworkNotFound', `No network "${network}"`);
    this.get(id).aliases[network] = [...aliases];
  }

  async stopContainer(id: string): Promise<void> {
    this.stop(this.get(id), 143);
  }

  async startContainer(id: string): Promise<void> {
    const c = this.get(id);
    const behaviour = this.images.get(c.spec.image)!;
    c.running = true;
    if (behaviour.kind === 'crash') {
      setImmediate(() => this.stop(c, behaviour.code));
      return;
    }
    c.server = createServer((req, res) => {
      if (req.url === '/healthz') {
        res.writeHead(behaviour.health);
        return res.end(behaviour.health === 200 ? 'ok' : 'unhealthy on purpose');
      }
      res.end(behaviour.answer);
    });
    await new Promise<void>((resolve, reject) => {
      c.server!.once('error', (e) => reject(new RpcError('DockerError', `Cannot start container "${id}": Bind for 127.0.0.1:${c.spec.hostPort} failed: port is already allocated (${(e as Error).message})`)));
      c.server!.listen(c.spec.hostPort, '127.0.0.1', () => resolve());
    });
  }

  async renameContainer(id: string, name: string): Promise<void> {
    const c = this.get(id);
    if ([...this.containers.values()].some((o) => o.name === name && o.id !== id)) throw new RpcError('Conflict', `name ${name} in use`);
    c.name = name;
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    this.stop(c, 137);
    this.containers.delete(id);
  }

  async inspectContainer(idOrName: string): Promise<DeployContainerState | undefined> {
    const c = this.containers.get(idOrName) ?? [...this.containers.values()].find((o) => o.name === idOrName);
    if (!c) return undefined;
    return { id: c.id, name: c.name, running: c.running, exitCode: c.exitCode, oomKilled: false, labels: c.labels, aliases: c.aliases };
  }

  async waitExit(id: string, signal: AbortSignal): Promise<number | undefined> {
    const c = this.containers.get(id);
    if (!c || !c.running) return c?.exitCode ?? -1;
    return new Promise((resolve) => {
      c.exitWaiters.push(() => resolve(c.exitCode));
      signal.addEventListener('abort', () => resolve(undefined), { once: true });
    });
  }

  async followLogs(id: string, signal: AbortSignal, onLine: (line: string) => void): Promise<void> {
    const c = this.get(id);
    const behaviour = this.images.get(c.spec.image)!;
    onLine(`${c.labels['branchbox.service']} starting with API_TOKEN=${c.spec.env.API_TOKEN ?? 'none'}`);
    if (behaviour.kind === 'crash') for (const l of behaviour.lines) onLine(l);
    if (!signal.aborted) await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
  }

  async lastLogLines(id: string, n: number): Promise<string[]> {
    const c = this.containers.get(id);
    const behaviour = c && this.images.get(c.spec.image);
    return behaviour?.kind === 'crash' ? behaviour.lines.slice(-n) : [];
  }

  async listContainers(labels: readonly string[]): Promise<LabelledContainer[]> {
    return [...this.containers.values()]
      .filter((c) => labels.every((l) => (l.includes('=') ? c.labels[l.split('=')[0]!] === l.split('=')[1] : l in c.labels)))
      .map((c) => ({ id: c.id, name: c.name, labels: c.labels }));
  }

  /** Adds a container as if an earlier daemon had made it (recovery tests). */
  adopt(name: string, labels: Record<string, string>): string {
    const id = `${(++this.seq).toString(16).padStart(4, '0')}${'e'.repeat(60)}`;
    const owner = { sandbox: labels['branchbox.sandbox'] ?? '', service: labels['branchbox.service'] ?? '' };
    const spec = { name, image: 'branchbox/node:20', env: {}, owner, labels, network: 'x', containerPort: 8080, hostPort: 0 };
    this.containers.set(id, { id, name, spec, labels, aliases: {}, running: true, exitCode: 0, exitWaiters: [] });
    return id;
  }

  byName(name: string): FakeContainer | undefined {
    return [...this.containers.values()].find((c) => c.name === name);
  }

  async close(): Promise<void> {
    for (const c of this.containers.values()) this.stop(c, 0);
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new RpcError('ContainerNotFound', `No container "${id}"`);
    return c;
  }

  private stop(c: FakeContainer, code: number): void {
    if (!c.running) return;
    c.running = false;
    c.exitCode = code;
    c.server?.close();
    c.server?.closeAllConnections();
    for (const w of c.exitWaiters.splice(0)) w();
  }
}

function behaviourOf(serverJs: string): Behaviour {
  if (serverJs.includes('process.exit(3)')) {
    return { kind: 'crash', code: 3, lines: ['account crash: reading configuration', 'fatal: configuration missing, giving up'] };
  }
  const answer = /res\.end\(("[^"]*")\);\n\}\);/.exec(serverJs)?.[1];
  return { kind: 'serve', answer: answer ? (JSON.parse(answer) as string) : '?', health: serverJs.includes('unhealthy on purpose') ? 500 : 200 };
}
