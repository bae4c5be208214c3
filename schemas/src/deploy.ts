/**
 * The deploy namespace: running the pipeline that takes one service of a project at one commit
 * into a sandbox (prepare the source from git, build the image, start the new container beside
 * the old one, wait until healthy, switch over), and its history, stored logs and live progress.
 *
 * A deployment is one run for one service. `deploy/start` answers at once with the ids; the
 * work is followed through `deploy/subscribe` (`deploy/progress` items) and `deploy/get`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Batch, Obj, SubscriptionResult, Timestamp, defineMethods, defineNotifications } from './core';


export const DeploymentStatus = Type.Union(
  [
    Type.Literal('queued'),
    Type.Literal('preparing'),
    Type.Literal('building'),
    Type.Literal('starting'),
    Type.Literal('health-checking'),
    Type.Literal('running'),
    Type.Literal('completed'),
    Type.Literal('failed'),
    Type.Literal('cancelled'),
    Type.Literal('stopped'),
    Type.Literal('superseded'),
  ],
  {
    description:
      'queued → preparing → building → starting → health-checking → running (completed for a job that exited 0), or a final failed, cancelled, ' +
      'stopped (its container was removed with its sandbox) or superseded (a newer deployment of the same service ' +
      'replaced it, or replaced it while it was still queued). Final: running, completed, failed, cancelled, stopped, superseded; ' +
      'a running deployment is the one serving its service, a completed one the job whose exited container its service keeps.',
  },
);
export type DeploymentStatus = Static<typeof DeploymentStatus>;

export const DeployStage = Type.Union(
  [Type.Literal('prepare'), Type.Literal('build'), Type.Literal('start'), Type.Literal('health-check'), Type.Literal('switch-over')],
  {
    description:
      'prepare: resolve the ref and export the commit from git; build: build (or reuse) the image; start: create and ' +
      'start the new container beside the old one; health-check: probe it until healthy; switch-over: give it the ' +
      'service\'s name and remove the old container.',
  },
);
export type DeployStage = Static<typeof DeployStage>;

export const StageOutcome = Type.Union(
  [Type.Literal('ok'), Type.Literal('reused'), Type.Literal('failed'), Type.Literal('cancelled'), Type.Literal('interrupted')],
  { description: 'How a stage ended: `reused` for a build that found its image already built.' },
);
export type StageOutcome = Static<typeof StageOutcome>;

export const LogSource = Type.Union([Type.Literal('git'), Type.Literal('build'), Type.Literal('runtime'), Type.Literal('daemon')], {
  description: 'Who wrote the line: git, the image build (or host build command), the new container, or the daemon itself.',
});
export type LogSource = Static<typeof LogSource>;

export const StageRecord = Obj({
  stage: DeployStage,
  startedAt: Timestamp('When the stage began.'),
  finishedAt: Type.Optional(Timestamp('When it ended; absent while it runs.')),
  durationMs: Type.Optional(Type.Integer({ minimum: 0 })),
  outcome: Type.Optional(StageOutcome),
});
export type StageRecord = Static<typeof StageRecord>;

export const DeploymentRecord = Obj(
  {
    id: Type.String({ description: 'The deployment id (a UUID).' }),
    sandbox: Type.String(),
    service: Type.String(),
    repoPath: Type.String({ description: 'The repository root the source was taken from.' }),
    ref: Type.Optional(Type.String({ description: 'The branch deployed (as given, or the current branch when none was).' })),
    commit: Type.Optional(Type.String({ description: 'The full commit id deployed; absent until resolved.' })),
    includeUncommitted: Type.Boolean({ description: 'Whether the working tree\'s uncommitted changes were deployed on top of the commit.' }),
    sourceHash: Type.Optional(
      Type.String({ description: 'With uncommitted changes: a hash of the exported source, also the suffix of the image tag.' }),
    ),
    status: DeploymentStatus,
    diagnosis: Type.Optional(
      Type.String({ description: 'For failed and cancelled deployments: one line, "<stage> failed: <cause>". Secrets masked.' }),
    ),
    image: Type.Optional(Type.String({ description: 'The image the container runs.' })),
    buildReused: Type.Optional(Type.Boolean({ description: 'The image was already built for this source and was not rebuilt.' })),
    containerId: Type.Optional(Type.String({ description: 'The new container, once created.' })),
    containerName: Type.Optional(Type.String({ description: 'Its container\'s name: `sandbox-{name}_{service}_{8 hex digits of the deployment id}` until it serves, `sandbox-{name}_{service}` from then on.' })),
    hostPort: Type.Optional(Type.Integer({ description: 'The port published on 127.0.0.1.' })),
    url: Type.Optional(Type.String({ description: '`http://127.0.0.1:{hostPort}`, where the service is reached directly.' })),
    supersededBy: Type.Optional(Type.String({ description: 'The deployment that replaced this one.' })),
    requestedBy: Type.Optional(Type.String({ description: 'The client that asked for it.' })),
    createdAt: Timestamp('When it was requested.'),
    startedAt: Type.Optional(Timestamp('When it left the queue.')),
    finishedAt: Type.Optional(Timestamp('When it reached a final status.')),
    durationMs: Type.Optional(Type.Integer({ minimum: 0, description: 'From startedAt to finishedAt.' })),
    stages: Type.Array(StageRecord, { description: 'The stages run so far, in order.' }),
  },
  'One deployment of one service, with its stages.',
);
export type DeploymentRecord = Static<typeof DeploymentRecord>;

export const DeployLogLine = Obj({
  seq: Type.Integer({ minimum: 1, description: 'Position in the deployment\'s log, from 1.' }),
  t: Timestamp('When the line was written.'),
  source: LogSource,
  line: Type.String({ description: 'The line, without its newline; secrets masked.' }),
});
export type DeployLogLine = Static<typeof DeployLogLine>;

export const DeployProgress = Obj(
  {
    deployment: Type.String(),
    service: Type.String(),
    sandbox: Type.String(),
    kind: Type.Union([Type.Literal('status'), Type.Literal('stage'), Type.Literal('log')]),
    status: Type.Optional(DeploymentStatus),
    diagnosis: Type.Optional(Type.String({ description: 'With a final status of failed or cancelled: the one-line diagnosis.' })),
    stage: Type.Optional(DeployStage),
    phase: Type.Optional(Type.Union([Type.Literal('begin'), Type.Literal('end')])),
    durationMs: Type.Optional(Type.Integer({ minimum: 0, description: 'With a stage end: how long the stage took.' })),
    outcome: Type.Optional(StageOutcome),
    source: Type.Optional(LogSource),
    seq: Type.Optional(Type.Integer({ minimum: 1, description: 'With a log line: its position, as in `deploy/logs`.' })),
    line: Type.Optional(Type.String()),
    t: Timestamp('When it happened.'),
  },
  'A status change (kind status), a stage beginning or ending (kind stage) or a log line (kind log). Secrets masked.',
);
export type DeployProgress = Static<typeof DeployProgress>;

const DeploymentId = Type.String({ minLength: 1, description: 'The deployment id.' });

export const deployMethods = defineMethods({
  'deploy/start': {
    summary: 'Deploys services of a project at a branch or commit into a sandbox; answers at once with one deployment per service.',
    description:
      'The source is the commit (the branch\'s head, or `commit`) exported from git without touching the working tree or ' +
      'index; with `includeUncommitted`, the working tree\'s changes on top. Each service\'s new container starts beside ' +
      'the serving one and replaces it only once healthy; on failure the old one keeps serving. A second deployment of the ' +
      'same service in the same sandbox replaces one still queued (superseded) and waits behind one already running. ' +
      'A service whose host build command (`{ command, runtime, cmd }`) is not trusted for the repository (trust/grant) ' +
      'is refused with `Untrusted` naming each command, and nothing is queued. Services with dependencies (compose ' +
      '`depends_on`) build at once but start only once each dependency reached its condition (started, healthy, or ' +
      'completed successfully), in a deployment of the same sandbox or in the container serving it; a dependency that ' +
      'fails fails them ("api waits for db: db unhealthy: …", stage start) and nothing of them is started. A dependency ' +
      'cycle is refused (ConfigInvalid). Follow with `deploy/subscribe`.',
    mutating: true,
    errors: ['SandboxNotFound', 'ConfigInvalid', 'FileNotFound', 'InvalidName', 'GitError', 'ShuttingDown', 'Untrusted'],
    params: Obj({
      repoPath: Type.String({ minLength: 1, description: 'Absolute path of the repository (or a folder inside it).' }),
      ref: Type.Optional(Type.String({ minLength: 1, description: 'The branch to deploy (default: the repository\'s current branch).' })),
      commit: Type.Optional(
        Type.String({ pattern: '^[0-9a-fA-F]{4,64}$', description: 'A commit id to deploy exactly (the ref then only labels it).' }),
      ),
      sandbox: Type.String({ minLength: 1 }),
      services: Type.Optional(
        Type.Array(Type.String({ minLength: 1 }), {
          minItems: 1,
          uniqueItems: true,
          description:
            'Services of the project. Absent: every service of the chosen `profiles` (compose projects; a branchbox.yaml ' +
            'project: every service). The dependencies (depends_on) of these the sandbox neither serves nor is deploying are added.',
        }),
      ),
      profiles: Type.Optional(
        Type.Array(Type.String({ minLength: 1 }), {
          uniqueItems: true,
          description: 'Compose profiles to deploy: without `services`, services naming none of these are left out (services without profiles always deploy).',
        }),
      ),
      includeUncommitted: Type.Optional(Type.Boolean({ description: 'Deploy the working tree\'s uncommitted changes on top of the commit.' })),
    }),
    result: Obj({
      deployments: Type.Array(Obj({ id: Type.String(), service: Type.String() }), {
        description: 'Every deployment queued, in dependency order (a service after those it depends on), dependencies added included.',
      }),
      addedDependencies: Type.Array(Type.String(), {
        description: 'The services added to the request as dependencies of the requested ones (the sandbox had them neither serving nor deploying).',
      }),
    }),
  },
  'deploy/get': {
    summary: 'One deployment: its status, stages with durations, diagnosis, image, container and port.',
    errors: ['DeploymentNotFound'],
    params: Obj({ id: DeploymentId }),
    result: DeploymentRecord,
  },
  'deploy/list': {
    summary: 'Deployment history, newest first.',
    params: Obj({
      sandbox: Type.Optional(Type.String()),
      service: Type.Optional(Type.String()),
      status: Type.Optional(Type.Array(DeploymentStatus, { description: 'Only deployments in one of these statuses.' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'At most this many (default 50).' })),
    }),
    result: Obj({ deployments: Type.Array(DeploymentRecord) }),
  },
  'deploy/logs': {
    summary: 'The stored log of a deployment (git, build, runtime and daemon lines), secrets masked.',
    description:
      'Logs are kept for the newest 20 deployments of each sandbox and service, and for a running one; an older ' +
      'deployment keeps its record and stages, and its log is one daemon line saying it was dropped.',
    errors: ['DeploymentNotFound'],
    params: Obj({
      id: DeploymentId,
      afterSeq: Type.Optional(Type.Integer({ minimum: 0, description: 'Only lines after this one (default 0: from the start).' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'At most this many lines (default 1000).' })),
    }),
    result: Obj({
      lines: Type.Array(DeployLogLine),
      more: Type.Boolean({ description: 'More lines follow the last one returned: ask again with its `seq` as `afterSeq`.' }),
    }),
  },
  'deploy/cancel': {
    summary: 'Cancels a deployment: a queued one at once; a running one stops where it is and cleans up, the old container keeps serving.',
    description:
      'Answers once the deployment is final, with its status (`cancelled`, or what it had already reached: a deployment ' +
      'already switching over completes). Cancelling a final deployment changes nothing.',
    mutating: true,
    errors: ['DeploymentNotFound'],
    params: Obj({ id: DeploymentId }),
    result: Obj({ status: DeploymentStatus }),
  },
  'deploy/subscribe': {
    summary: 'Streams deployment progress live: status changes, stage begin/end with durations, log lines.',
    description:
      'With `deployment`, what that deployment has already recorded (status, stages, log lines) is sent first, then its ' +
      'live progress, and the subscription completes once it is final. With `sandbox`, every deployment of that sandbox from ' +
      'now on. With neither, every deployment.',
    notification: 'deploy/progress',
    errors: ['DeploymentNotFound'],
    params: Obj({
      sandbox: Type.Optional(Type.String()),
      deployment: Type.Optional(DeploymentId),
    }),
    result: SubscriptionResult,
  },
});

export const deployNotifications = defineNotifications({
  'deploy/progress': {
    summary: 'Deployment progress for a `deploy/subscribe` subscription.',
    direction: 'toClient',
    params: Batch(DeployProgress, 'Progress items, oldest first.'),
  },
});
