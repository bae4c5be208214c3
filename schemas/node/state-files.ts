/**
 * The entries of a state directory, by name: one list for the daemon that writes them and the
 * clients that read them (the extension, the CLI). docs/state-and-docker-objects.md describes
 * each one, and a unit test holds the two together.
 */
export const STATE_FILES = {
  /** SQLite, WAL mode (beside it `state.db-wal` and `state.db-shm`): every sandbox, deployment, port, variable… */
  database: 'state.db',
  /** The 32-byte AES-256-GCM key the secrets in `state.db` are encrypted with. */
  secretKey: 'secret.key',
  /** `{ port, token, pid, version }` of the running daemon (schemas/node/runtime-file.ts). */
  runtime: 'runtime.json',
  /** The pid of the daemon that owns the directory (schemas/node/lock-file.ts). */
  lock: 'branchboxd.lock',
  /** The daemon's log (JSON lines), rotated to `.1` … `.3`. */
  log: 'branchboxd.log',
  /** The stderr of a daemon a client started (the extension, `branchbox daemon start`). */
  daemonStderr: 'branchboxd.stderr.log',
  /** Snapshots' volume data: `snapshots/<snapshot>/<volume>.tar`. */
  snapshots: 'snapshots',
  /** Deployments' exported sources (`deploy/src/<deployment id>`) and temporary git indexes. */
  deploy: 'deploy',
} as const;
