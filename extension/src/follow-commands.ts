/**
 * Redeploy on commit from the editor: Follow Branch and Stop Following on a sandbox row (and
 * from the palette), and the git extension's HEAD changes passed to the daemon
 * (`follow/check`), so a commit, pull or checkout is acted on at once. The daemon also watches
 * the refs itself; a check of a sandbox that serves its heads already starts nothing.
 */
import * as vscode from 'vscode';
import type { CommandFactory, Ctx } from './commands';
import type { Connected, DaemonConnection, Logger } from './connection';
import { onHeadMoved } from './git';
import { sandboxOf } from './sandbox-commands';
import type { SandboxesTree } from './sandboxes-tree';

export function followCommands(): Record<string, CommandFactory> {
  return {
    'branchbox.follow.start': { what: 'Redeploy on commit', withDaemon: (ctx, c) => (arg?: unknown) => setFollow(ctx, c, arg, true) },
    'branchbox.follow.stop': { what: 'Stop redeploying on commit', withDaemon: (ctx, c) => (arg?: unknown) => setFollow(ctx, c, arg, false) },
  };
}

async function setFollow(ctx: Ctx, c: Connected, arg: unknown, follow: boolean): Promise<void> {
  const name = await sandboxOf(ctx, arg, follow ? 'Redeploy on commit' : 'Stop redeploying on commit', (s) => (follow ? s.state === 'active' && !s.follow : !!s.follow));
  if (!name) return;
  const sandbox = await c.client.request('sandbox/follow', { sandbox: name, follow });
  const branches = [...new Set(sandbox.services.map((s) => s.branch).filter((b): b is string => !!b))].join(', ');
  const text = follow ? `${name} now redeploys when ${branches || 'its branches'} move (commit, pull, reset).` : `${name} no longer redeploys on commit.`;
  ctx.log.info(text);
  void vscode.window.showInformationMessage(text);
}

/** Each HEAD change of an open repository that a following sandbox deploys from becomes a `follow/check`. */
export function checkFollowsOnHeadMoves(connection: DaemonConnection, sandboxes: SandboxesTree, log: Logger): vscode.Disposable {
  return onHeadMoved(
    (repoPath) => {
      const c = connection.connected;
      const following = sandboxes.model.sandboxes().filter((s) => s.follow && s.state === 'active' && s.repoPath === repoPath);
      if (!c || following.length === 0 || !c.capabilities.methods.includes('follow/check')) return;
      c.client.request('follow/check', { repoPath }).then(
        ({ started }) => {
          if (started.length) log.info(`HEAD moved in ${repoPath}: redeploying ${started.map((d) => `${d.service} → ${d.sandbox}`).join(', ')}`);
        },
        (e: unknown) => log.warn(`follow/check of ${repoPath} failed: ${(e as Error).message}`),
      );
    },
    (m) => log.info(m),
  );
}
