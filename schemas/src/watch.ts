/**
 * Watch mode: a sandbox follows the working tree of its repository. While a watch runs, each
 * change of a file under a service's watch rule (branchbox.yaml `watch:`, compose
 * `develop.watch`) is acted on after a quiet period: `sync` copies the changed files into the
 * service's serving container (deleted files deleted), `sync+restart` then restarts it and
 * waits until it is healthy, `rebuild` deploys the service again from the working tree
 * (`deploy/start` with `includeUncommitted`). Files git ignores, the context's `.dockerignore`
 * excludes, a rule's `ignore` matches, and `.git/` are never acted on. When a watch starts,
 * every sync rule's files are copied once (the initial sync), so the container matches the tree.
 * After each sync the service's working-tree marker (SandboxServiceView.workingTree) says how
 * many files of its context differ from its commit.
 *
 * A deployment that takes a watched service over and was not asked for by the watch itself ends
 * the watch (the sandbox runs that deployment now), unless it is a redeploy of the branch the
 * sandbox follows: the watch then syncs the new container again.
 *
 * Watches live in the daemon's memory: they end with the daemon, and when their sandbox is
 * deleted or suspended (`watch/event` kind `stopped` says why). One watch per sandbox.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Batch, Obj, SubscriptionResult, Timestamp, defineMethods, defineNotifications } from './core';
import { WatchAction, WatchRule } from './project';

const SandboxName = Type.String({ minLength: 1, maxLength: 200, description: 'The sandbox.' });

export const WatchedService = Obj({
  service: Type.String(),
  rules: Type.Array(WatchRule, { description: 'Its watch rules, as the project file gives them.' }),
});
export type WatchedService = Static<typeof WatchedService>;

export const WatchView = Obj(
  {
    sandbox: Type.String(),
    repoPath: Type.String({ description: 'The repository root whose working tree is watched.' }),
    services: Type.Array(WatchedService, { description: 'The services watched, by name.' }),
    startedAt: Timestamp('When the watch started.'),
    syncs: Type.Integer({ minimum: 0, description: 'Syncs, restarts and rebuilds run so far (the initial sync included).' }),
    failures: Type.Integer({ minimum: 0, description: 'How many of them failed.' }),
    lastSyncAt: Type.Optional(Timestamp('When the last one ended.')),
  },
  'A running watch.',
);
export type WatchView = Static<typeof WatchView>;

export const SyncedFile = Obj({
  path: Type.String({ description: 'Relative to the repository root, with `/`.' }),
  change: Type.Union([Type.Literal('changed'), Type.Literal('deleted')], {
    description: 'changed: written (created, modified, or the new name of a rename); deleted: removed (or the old name of a rename).',
  }),
});
export type SyncedFile = Static<typeof SyncedFile>;

/** The most files a `sync` event lists (`fileCount` counts them all). */
export const MAX_LISTED_FILES = 100;

export const WatchEvent = Obj(
  {
    kind: Type.Union([Type.Literal('started'), Type.Literal('sync'), Type.Literal('stopped')], {
      description: 'started: a watch began (`watch`); sync: one action on one service ended; stopped: a watch ended (`reason`).',
    }),
    sandbox: Type.String(),
    t: Timestamp('When it happened.'),
    watch: Type.Optional(WatchView),
    service: Type.Optional(Type.String({ description: 'sync: the service acted on.' })),
    action: Type.Optional(WatchAction),
    initial: Type.Optional(Type.Boolean({ description: 'sync: the initial sync of the watch\'s start (every file of the rule).' })),
    files: Type.Optional(
      Type.Array(SyncedFile, { description: `sync: the files acted on (and empty folders created), in path order, at most the first ${MAX_LISTED_FILES}.` }),
    ),
    fileCount: Type.Optional(Type.Integer({ minimum: 0, description: 'sync: how many files were acted on.' })),
    durationMs: Type.Optional(Type.Integer({ minimum: 0, description: 'sync: from the end of the quiet period to the end of the action.' })),
    outcome: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('failed')])),
    error: Type.Optional(Type.String({ description: 'sync failed: why, in one line (e.g. "the container of web is not running").' })),
    deployment: Type.Optional(
      Type.String({ description: 'sync: the deployment serving the service, whose log records the sync; rebuild: the new deployment.' }),
    ),
    reason: Type.Optional(
      Type.String({
        description:
          'stopped: why (watch/stop, the sandbox was deleted or suspended, the daemon stops, the watcher failed, or a deployment took a ' +
          'watched service over: "account was deployed from main@1a2b3c4: the sandbox runs that commit now").',
      }),
    ),
  },
  'A change of a watch, or the end of one action of it.',
);
export type WatchEvent = Static<typeof WatchEvent>;

export const watchMethods = defineMethods({
  'watch/start': {
    summary: 'Starts watching the working tree for a sandbox: changes under the services\' watch rules are synced, restarted or rebuilt.',
    description:
      'The project is read from `repoPath` (branchbox.yaml, or the compose files). Without `services`, every service of the ' +
      'project that has watch rules and serves in the sandbox. Answers once the watcher runs; the initial sync follows as ' +
      '`watch/event` items. SandboxNotFound for an unknown sandbox; Conflict when the sandbox already has a watch or is ' +
      'not active; InvalidParams when a service named has no watch rules, is not a service of the project, or no service ' +
      'can be watched (none has rules, or none serves in the sandbox).',
    mutating: true,
    errors: ['SandboxNotFound', 'Conflict', 'ConfigInvalid', 'FileNotFound'],
    params: Obj({
      sandbox: SandboxName,
      repoPath: Type.String({ minLength: 1, description: 'An absolute path in the repository (its root is found from it).' }),
      services: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 200, description: 'The services to watch.' })),
    }),
    result: WatchView,
  },
  'watch/stop': {
    summary: 'Stops the watch of a sandbox; a sync in progress ends first.',
    description: 'Answers `stopped: false` when the sandbox has no watch.',
    mutating: true,
    params: Obj({ sandbox: SandboxName }),
    result: Obj({ stopped: Type.Boolean({ description: 'Whether a watch was running.' }) }),
  },
  'watch/list': {
    summary: 'The running watches (they live in the daemon\'s memory and end with it).',
    params: Obj({ sandbox: Type.Optional(SandboxName) }),
    result: Obj({ watches: Type.Array(WatchView, { description: 'By sandbox.' }) }),
  },
  'watch/subscribe': {
    summary: 'Streams watches starting and stopping and each sync, restart or rebuild they run, with its files, duration and outcome.',
    notification: 'watch/event',
    params: Obj({ sandbox: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Only this sandbox\'s watch.' })) }),
    result: SubscriptionResult,
  },
});

export const watchNotifications = defineNotifications({
  'watch/event': {
    summary: 'Watch events for a `watch/subscribe` subscription.',
    direction: 'toClient',
    params: Batch(WatchEvent, 'Events, oldest first.'),
  },
});
