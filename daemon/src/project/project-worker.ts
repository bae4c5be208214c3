/**
 * The entry point of the worker thread that reads project files (off-thread.ts starts it, as
 * dist/project-worker.js): each message is a path, each answer the project or the error,
 * exactly as `loadProject` would answer or throw it on the daemon's own thread.
 */
import { parentPort } from 'node:worker_threads';
import { RpcError } from '../rpc/errors';
import { loadProject } from './load';
import type { WorkerAnswer, WorkerRequest } from './off-thread';

const port = parentPort;
if (!port) throw new Error('project-worker.js runs as a worker thread of branchboxd');

port.on('message', ({ id, path }: WorkerRequest) => {
  let answer: WorkerAnswer;
  try {
    answer = { id, project: loadProject(path) };
  } catch (e) {
    answer =
      e instanceof RpcError
        ? { id, error: { name: e.errorName, message: e.message, data: e.data } }
        : { id, error: { message: e instanceof Error ? e.message : String(e) } };
  }
  port.postMessage(answer);
});
