/**
 * `branchbox dev`: watch mode. Starts a watch of the working tree for a sandbox (`watch/start`)
 * and prints each sync, restart or rebuild as one line until Ctrl-C, which stops the watch
 * (`watch/stop`). A watch the daemon stops (the sandbox deleted or suspended, the watcher
 * failed) ends the command with exit code 1 and the reason.
 */
import type { StreamItem } from '../../../../schemas/src/index';
import { plainLine } from '../../../../schemas/src/plain-text';
import { defineCommand, type CommandContext } from '../command';
import { ExitCode } from '../errors';
import { duration } from '../format';
import { repositoryRoot } from './git';

type WatchEvent = StreamItem<'watch/event'>;

/** A sync as one line: `12:03:04 web sync+restart 3 files (src/a.js, src/b.js, …) 412ms ok`. */
export function syncLine(e: WatchEvent, style: CommandContext['out']['style']): string {
  const time = e.t.slice(11, 19);
  const shown = (e.files ?? []).slice(0, 3).map((f) => (f.change === 'deleted' ? `-${f.path}` : f.path));
  const count = e.fileCount ?? 0;
  const files = `${count} file${count === 1 ? '' : 's'}${shown.length ? ` (${shown.join(', ')}${count > shown.length ? ', …' : ''})` : ''}`;
  const outcome = e.outcome === 'ok' ? style.green('ok') : style.red(`failed: ${plainLine(e.error ?? '')}`);
  const took = e.durationMs !== undefined ? ` ${duration(e.durationMs)}` : '';
  return `${style.dim(time)} ${style.bold(e.service ?? '')} ${e.initial ? 'initial ' : ''}${e.action ?? ''} ${files}${took} ${outcome}`;
}

export const devCommands = [
  defineCommand({
    words: ['dev'],
    summary: 'Watch the working tree and sync each change into a sandbox (its services\' watch rules) until Ctrl-C.',
    args: ['SANDBOX', '[SERVICE...]'],
    description:
      'The rules are the services\' `watch:` in branchbox.yaml or `develop.watch` in the compose file: sync copies the ' +
      'changed files into the running container, sync+restart then restarts it, rebuild deploys the service again from the ' +
      'working tree. Files git or the context\'s .dockerignore ignore are left alone. Without SERVICE, every service with ' +
      'rules that serves in the sandbox. The container is brought up to date first (the initial sync). One line per sync; ' +
      'with -o json one watch/event item per line. Ctrl-C stops the watch; exit 1 when the daemon stops it (sandbox deleted or suspended).',
    options: {
      repo: { type: 'string', value: 'PATH', help: 'the repository (default: the one of the current directory)' },
    },
    methods: ['watch/subscribe', 'watch/start', 'watch/stop'],
    async run(ctx, { values, positionals }) {
      const [sandbox, ...services] = positionals as [string, ...string[]];
      const repoPath = await repositoryRoot(values.repo ?? ctx.cwd);
      const { out } = ctx;
      let stoppedBy: string | undefined;
      // Subscribed before the start, so the initial sync's events are not missed.
      const stream = ctx.stream('watch/subscribe', { sandbox }, 'watch/event', (items) => {
        for (const e of items) {
          out.item(e, (x) => {
            if (x.kind === 'sync') out.line(syncLine(x, out.style));
          });
          if (e.kind === 'stopped' && stoppedBy === undefined) {
            stoppedBy = e.reason ?? 'stopped';
            stream.stop();
          }
        }
      });
      await stream.subscribed;
      const watch = await ctx.call('watch/start', { sandbox, repoPath, ...(services.length ? { services } : {}) });
      if (!out.json) {
        out.line(`Watching ${repoPath} for sandbox ${out.style.bold(sandbox)}: ${watch.services.map((s) => s.service).join(', ')} (Ctrl-C to stop)`);
      }
      const end = await stream.ended;
      if (end.interrupted) {
        await (await ctx.daemon()).client.request('watch/stop', { sandbox });
        if (!out.json) out.line(`Stopped watching sandbox ${sandbox}`);
        return ExitCode.Interrupted;
      }
      if (!out.json) out.line(out.style.red(`The watch of sandbox ${sandbox} stopped: ${stoppedBy ?? 'the stream ended'}`));
      return ExitCode.Failed;
    },
  }),
];
