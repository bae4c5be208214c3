/**
 * Every error code a Branchbox daemon answers with, by stable name.
 *
 * JSON-RPC and LSP reserve -32768..-32000 (and -32899..-32800 inside it); the application
 * codes below live in 1000..1999, grouped by hundreds: not found (10xx), conflict (11xx),
 * Docker (12xx), ports (13xx), build and deploy (14xx), configuration and source (15xx),
 * protocol limits (16xx), daemon lifecycle (19xx). Names and numbers never change once published.
 */
export const protocolErrors = {
  ParseError: { code: -32700, description: 'The message is not valid JSON.' },
  InvalidRequest: { code: -32600, description: 'The message is not a valid JSON-RPC 2.0 request.' },
  MethodNotFound: { code: -32601, description: 'No such method.' },
  InvalidParams: {
    code: -32602,
    description:
      'The params do not match the method\'s schema; `data.violations` lists each as `{ path, message }`.',
  },
  InternalError: {
    code: -32603,
    description: 'The daemon failed unexpectedly; the message says what failed. The request had no effect unless stated.',
  },
  ServerNotInitialized: { code: -32002, description: 'A request other than `initialize` arrived before `initialize`.' },
  RequestCancelled: { code: -32800, description: 'The request was cancelled by `$/cancelRequest`.' },
} as const;

export const applicationErrors = {
  SandboxNotFound: { code: 1001, description: 'No sandbox has that name.' },
  ContainerNotFound: { code: 1002, description: 'No container has that id or name.' },
  ImageNotFound: { code: 1003, description: 'No image has that id or reference.' },
  DeploymentNotFound: { code: 1004, description: 'No deployment has that id.' },
  SubscriptionNotFound: { code: 1005, description: 'No subscription of this connection has that id.' },
  ExecSessionNotFound: { code: 1006, description: 'No exec session of this connection has that id.' },
  TemplateNotFound: { code: 1007, description: 'No template has that name.' },
  SnapshotNotFound: { code: 1008, description: 'No snapshot has that name.' },
  NetworkNotFound: { code: 1009, description: 'No network has that id or name.' },
  VolumeNotFound: { code: 1010, description: 'No volume has that name.' },
  FileNotFound: { code: 1011, description: 'A file named in the params does not exist or cannot be read.' },

  NameTaken: { code: 1101, description: 'The name is already used by another object of the same kind.' },
  InvalidName: { code: 1102, description: 'The name breaks the naming rules; the message states them.' },
  ContainerRunning: { code: 1103, description: 'The container is running; stop it first or pass `force`.' },
  Conflict: {
    code: 1104,
    description:
      'The object is in a state that does not allow this request, or belongs to someone else: a Docker object of another ' +
      'Branchbox instance or sandbox, or not Branchbox\'s at all (`data.owner` names the owner, null for none).',
  },
  AlreadyInitialized: { code: 1105, description: '`initialize` was already called on this connection.' },

  DockerUnavailable: { code: 1201, description: 'No Docker engine answers; `data.tried` lists what was tried.' },
  DockerError: { code: 1202, description: 'The Docker engine refused the request; the message carries its reason.' },

  PortExhausted: { code: 1301, description: 'Every port of the configured range is taken.' },
  PortInUse: { code: 1302, description: 'The port is already bound by another process.' },

  BuildFailed: { code: 1401, description: 'The image build failed; the message ends with the last build lines.' },
  DeployFailed: { code: 1402, description: 'The deployment failed; the message is its one-line diagnosis.' },
  ResourceLimit: {
    code: 1403,
    description: 'The deployment would exceed a resource limit (per container, per sandbox, or host memory); the message names it.',
  },
  Untrusted: {
    code: 1404,
    description:
      'A service to deploy runs a host build command the user has not trusted for this repository; nothing ran. ' +
      '`data.repoPath` is the repository, `data.commands` each `{ service, context, command }`. Show the commands, ' +
      'and after the user agrees call trust/grant for each, then deploy again (CLI: branchbox deploy --trust-command).',
  },

  ConfigInvalid: { code: 1501, description: 'The project file is invalid; `data.errors` names file, line and field.' },
  GitError: { code: 1502, description: 'A git command failed; the message carries its output.' },

  ResponseTooLarge: {
    code: 1601,
    description:
      'The answer would exceed the largest message (`data.limit` bytes): ask for less (a filter, a limit), or send the request alone rather than in a batch.',
  },

  ShuttingDown: { code: 1901, description: 'The daemon is shutting down and takes no new work.' },
} as const;

export const errorTable = { ...protocolErrors, ...applicationErrors } as const;

export type ProtocolErrorName = keyof typeof protocolErrors;
export type ApplicationErrorName = keyof typeof applicationErrors;
export type ErrorName = keyof typeof errorTable;

/** The stable name of a code, for clients that get a number back. */
export function errorNameOf(code: number): ErrorName | undefined {
  for (const [name, entry] of Object.entries(errorTable)) if (entry.code === code) return name as ErrorName;
  return undefined;
}
