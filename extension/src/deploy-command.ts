/**
 * Deploy Current Branch: the branch and commit of the open repository (built-in git API), the
 * profiles (compose projects that have some) and services picked from its project
 * (`project/load`; a ConfigInvalid answer goes to the Problems panel), a sandbox picked or created, then
 * `deploy/start` and a cancellable notification naming each service's stage (`deploy/progress`
 * of these deployments); a failure ends in its one-line diagnosis (plain text) with "Open
 * Deployment Log".
 */
import * as vscode from 'vscode';
import type { DeploymentStatus } from '../../schemas/src/deploy';
import type { Params, Result } from '../../schemas/src/index';
import type { Project } from '../../schemas/src/project';
import type { Ctx } from './commands';
import type { Connected } from './connection';
import { advanceRun, newRunState, progressPercent, progressText, runIsFinal, type DeployRunState } from './deployment-model';
import { TRUST_AND_DEPLOY, trustQuestion, untrustedOf } from './failure';
import { currentBranch } from './git';
import type { Log } from './log';
import { CREATE_NEW, failureSummary, profilePickItems, sandboxPickItems, servicePickItems, suggestName, validateName } from './sandbox-logic';
import { branchAtCommit } from './sandbox-model';

export interface DeployOutcomeSummary {
  readonly sandbox: string;
  readonly deployments: readonly { id: string; service: string; status: DeploymentStatus; diagnosis?: string }[];
}

/** The whole command; undefined when the user stopped at a prompt. */
export async function deployCurrentBranch(ctx: Ctx, c: Connected): Promise<DeployOutcomeSummary | undefined> {
  const head = await currentBranch();
  const source = branchAtCommit(head.branch ?? 'HEAD', head.commit);
  let project: Project;
  try {
    project = await c.client.request('project/load', { path: head.repoPath });
  } catch (e) {
    if (await ctx.configs.reportFailure(head.repoPath, e)) return undefined;
    throw e;
  }
  ctx.configs.accept(head.repoPath, project);
  let profiles: string[] = [];
  if (project.profiles?.length) {
    const chosen = await vscode.window.showQuickPick(profilePickItems(project), {
      title: `Deploy ${source}: profiles`,
      placeHolder: `Profiles of ${project.name} to enable (none: only the services without a profile)`,
      canPickMany: true,
    });
    if (!chosen) return undefined;
    profiles = chosen.map((p) => p.value);
  }
  const picked = await vscode.window.showQuickPick(servicePickItems(project, [], profiles), {
    title: `Deploy ${source}: services`,
    placeHolder: `Services of ${project.name} to deploy`,
    canPickMany: true,
  });
  if (!picked?.length) return undefined;
  const services = picked.map((p) => p.value);

  const sandbox = await pickOrCreateSandbox(ctx, c, head.repoPath, head.branch ?? project.name, source);
  if (!sandbox) return undefined;

  ctx.log.info(`Deploying ${source} of ${head.repoPath} (${services.join(', ')}) into sandbox ${sandbox}${head.dirty ? '; uncommitted changes are not included' : ''}`);
  // Compose profiles, sent only when some are chosen.
  const params: Params<'deploy/start'> = {
    repoPath: head.repoPath,
    ...(head.branch ? { ref: head.branch } : {}),
    commit: head.commit,
    sandbox,
    services,
    ...(profiles.length ? { profiles } : {}),
  };
  let started: Result<'deploy/start'> | undefined;
  try {
    started = await startTrusting(c, ctx.log, params);
  } catch (e) {
    if (await ctx.configs.reportFailure(head.repoPath, e)) return undefined;
    throw e;
  }
  if (!started) return undefined;
  const { deployments } = started;
  ctx.current.deployedTo(sandbox);
  const final = await followDeployments(c, `Deploying ${source} to ${sandbox}`, deployments);
  const summary: DeployOutcomeSummary = {
    sandbox,
    deployments: deployments.map((d) => ({ id: d.id, service: d.service, ...final.services.get(d.service)! })),
  };
  report(ctx, source, summary);
  return summary;
}

/**
 * `deploy/start`. When it answers Untrusted (a service builds with a host command the user
 * has not trusted for this repository), asks once in a modal with the command text; on
 * "Trust and Deploy" trusts each command (trust/grant) and starts again. Undefined when the
 * user declined: nothing was trusted, nothing deployed.
 */
export async function startTrusting(c: Connected, log: Pick<Log, 'info'>, params: Params<'deploy/start'>): Promise<Result<'deploy/start'> | undefined> {
  try {
    return await c.client.request('deploy/start', params);
  } catch (e) {
    const untrusted = untrustedOf(e);
    if (!untrusted) throw e;
    const { message, detail } = trustQuestion(untrusted);
    const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, TRUST_AND_DEPLOY);
    if (choice !== TRUST_AND_DEPLOY) {
      log.info(`Not deploying: the host build command(s) of ${untrusted.repoPath} were not trusted`);
      return undefined;
    }
    for (const command of untrusted.commands) {
      log.info(`Trusting for ${untrusted.repoPath} (${command.service}, in ${command.context}): ${JSON.stringify(command.command)}`);
      await c.client.request('trust/grant', { repoPath: untrusted.repoPath, context: command.context, command: command.command });
    }
    // Asked once: a command still untrusted now (the branch moved meanwhile) is an error.
    return c.client.request('deploy/start', params);
  }
}

async function pickOrCreateSandbox(ctx: Ctx, c: Connected, repoPath: string, branch: string, source: string): Promise<string | undefined> {
  const { sandboxes } = await c.client.request('sandbox/list', {});
  const choice = await vscode.window.showQuickPick(sandboxPickItems(sandboxes, ctx.current.name), {
    title: `Deploy ${source}: sandbox`,
    placeHolder: 'The sandbox to deploy into',
    matchOnDescription: true,
  });
  if (!choice) return undefined;
  if (choice.value !== CREATE_NEW) return choice.value;
  const taken = sandboxes.map((s) => s.name);
  const name = await vscode.window.showInputBox({
    title: 'New sandbox',
    prompt: 'Sandbox name: lowercase a-z, 0-9 and "-", at most 40 characters',
    value: suggestName(branch),
    validateInput: (v) => validateName(v.trim(), taken),
  });
  if (!name) return undefined;
  ctx.log.info(`Creating sandbox ${name.trim()} for ${repoPath}`);
  await c.client.request('sandbox/create', { name: name.trim(), repoPath });
  return name.trim();
}

/** Follows the deployments to their final status in a cancellable notification. */
export function followDeployments(c: Connected, title: string, deployments: readonly { id: string; service: string }[]): Thenable<DeployRunState> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    (progress, token) =>
      new Promise<DeployRunState>((resolve, reject) => {
        let state = newRunState(deployments.map((d) => d.service));
        let reported = 0;
        const ids = new Set(deployments.map((d) => d.id));
        const cancels: (() => Promise<void>)[] = [];
        const finish = () => {
          for (const cancel of cancels) void cancel().catch(() => undefined);
          cancelListener.dispose();
          resolve(state);
        };
        const cancelListener = token.onCancellationRequested(() => {
          for (const d of deployments) {
            if (!runIsFinal({ services: new Map([[d.service, state.services.get(d.service)!]]) })) {
              void c.client.request('deploy/cancel', { id: d.id }).catch(() => undefined);
            }
          }
        });
        progress.report({ message: progressText(state) });
        for (const d of deployments) {
          c.client
            .subscribe('deploy/subscribe', { deployment: d.id }, 'deploy/progress', {
              onItems: (items) => {
                state = advanceRun(state, items.filter((i) => ids.has(i.deployment)));
                const percent = progressPercent(state);
                progress.report({ message: progressText(state), increment: Math.max(0, percent - reported) });
                reported = Math.max(reported, percent);
                if (runIsFinal(state)) finish();
              },
              onEnd: (end) => {
                if (end.reason === 'shutdown' && !runIsFinal(state)) reject(new Error('the connection to branchboxd closed during the deploy; see the Deployments view'));
              },
            })
            .then((sub) => cancels.push(sub.cancel), reject);
        }
      }),
  );
}

/** The failure toast's button: the stored log of the first failed deployment, as a document. */
export const OPEN_DEPLOYMENT_LOG = 'Open Deployment Log';

/** A deployment ended well: serving (running), or a job that ran to completion (completed). */
const SUCCEEDED: ReadonlySet<string> = new Set(['running', 'completed']);

function report(ctx: Ctx, source: string, summary: DeployOutcomeSummary): void {
  const failed = summary.deployments.filter((d) => !SUCCEEDED.has(d.status));
  if (failed.length === 0) {
    ctx.log.info(`Deployed ${source} to ${summary.sandbox}: ${summary.deployments.map((d) => d.service).join(', ')} running`);
    void vscode.window
      .showInformationMessage(`Deployed ${source} to ${summary.sandbox}: ${summary.deployments.map((d) => d.service).join(', ')} running.`, 'Open Gateway')
      .then((choice) => (choice ? vscode.commands.executeCommand('branchbox.sandbox.openGateway', { kind: 'sandbox', key: `sandbox:${summary.sandbox}`, name: summary.sandbox, sandbox: summary.sandbox }) : undefined));
    return;
  }
  const text = `Deploy of ${source} to ${summary.sandbox} failed — ${failureSummary(failed)}`;
  ctx.log.error(text);
  const first = failed[0]!;
  void vscode.window
    .showErrorMessage(text, OPEN_DEPLOYMENT_LOG)
    .then((choice) => (choice ? vscode.commands.executeCommand('branchbox.deployment.openLog', { kind: 'deployment', id: first.id }) : undefined));
}
