/**
 * `loadProject` on a worker thread, so that reading a large branchbox.yaml (up to the size
 * limit: a quarter of a second and more of parsing) never stalls the event loop every client
 * shares. One worker, started on first use and kept (unref'd) for the next; a worker that
 * fails, runs out of memory or takes too long is replaced, and its request answers
 * ConfigInvalid. Where the worker's script is not beside this code (tests running the
 * sources), the project is read on the calling thread.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ErrorName } from '../../../schemas/src/errors';
import type { Project } from '../../../schemas/src/project';
import { RpcError } from '../rpc/errors';
import { loadProject } from './load';

export interface WorkerRequest {
  readonly id: number;
  readonly path: string;
}
export type WorkerAnswer =
  | { readonly id: number; readonly project: Project }
  | { readonly id: number; readonly error: { name?: ErrorName; message: string; data?: Record<string, unknown> } };

/** The worker's script, built beside branchboxd.js (esbuild.config.mjs). */
const WORKER_SCRIPT = join(__dirname, 'project-worker.js');
/** Far above what a file within the limits takes; a parse past it is a runaway. */
const PARSE_TIMEOUT_MS = 20_000;
/** Heap of the worker: a file that slips past every limit exhausts this, not the daemon. */
const WORKER_HEAP_MB = 256;

interface Pending {
  readonly path: string;
  resolve(project: Project): void;
  reject(error: unknown): void;
}

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, Pending>();

/** Loads the project at `path` (as `loadProject`) without blocking the event loop. */
export function loadProjectOffThread(path: string): Promise<Project> {
  if (!existsSync(WORKER_SCRIPT)) return Promise.resolve().then(() => loadProject(path));
  const w = worker ?? startWorker();
  const id = nextId++;
  return new Promise<Project>((resolve, reject) => {
    const timer = setTimeout(() => fail(w, `reading took longer than ${PARSE_TIMEOUT_MS / 1000} s`), PARSE_TIMEOUT_MS);
    timer.unref();
    const settle = <T>(then: (value: T) => void) => (value: T) => {
      clearTimeout(timer);
      pending.delete(id);
      if (pending.size === 0) w.unref();
      then(value);
    };
    pending.set(id, { path, resolve: settle(resolve), reject: settle(reject) });
    w.ref(); // keep the process up while a request waits
    w.postMessage({ id, path } satisfies WorkerRequest);
  });
}

function startWorker(): Worker {
  const w = new Worker(WORKER_SCRIPT, { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
  w.unref();
  w.on('message', (answer: WorkerAnswer) => {
    const request = pending.get(answer.id);
    if (!request) return;
    if ('project' in answer) request.resolve(answer.project);
    else if (answer.error.name) request.reject(new RpcError(answer.error.name, answer.error.message, answer.error.data));
    else request.reject(new Error(answer.error.message));
  });
  w.on('error', (e) => fail(w, e.message));
  w.on('exit', (code) => fail(w, `the reader stopped (exit code ${code})`));
  worker = w;
  return w;
}

/** The worker is broken: every request it holds answers ConfigInvalid, and the next one gets a new worker. */
function fail(w: Worker, reason: string): void {
  if (worker === w) worker = undefined;
  void w.terminate();
  for (const [id, request] of pending) {
    pending.delete(id);
    request.reject(
      new RpcError('ConfigInvalid', `${request.path}: could not be read: ${reason}`, {
        errors: [{ file: request.path, line: 1, column: 1, field: '', message: `could not be read: ${reason}` }],
      }),
    );
  }
}
