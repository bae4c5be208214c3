/**
 * Watch mode (issue 18's numbers): save → served through the sandbox's gateway, against doing
 * the same change by hand and against a full rebuild deploy; and the watcher's cost on a
 * working tree of 30 000 files. A real daemon (dist/ built), the real Docker engine, the
 * project of bench/lib/watch-project.ts (a busybox httpd `web` under a `sync` rule, a node
 * `api` under `sync+restart`), in one run:
 *
 * P8, median of `rounds` rounds per case, each round a new, distinct answer written to the
 * file and the gateway asked in a tight loop (bench/lib/served.ts) until it answers it, timed
 * from the write (writeFileSync returning) to that first answer:
 *   watch        the file written in the working tree while the sandbox is watched; also the
 *                time to its `watch/event` sync;
 *   by hand      the same change made the plain way into the same container: `docker cp` of the
 *                file (sync), plus `docker restart` (sync+restart) — what the rule does, by hand;
 *   rebuild      the file written, then deploy/start with includeUncommitted (the watch
 *                stopped): the full pipeline, build, health check and switch-over.
 * Watch and by-hand rounds alternate which goes first; rebuild rounds follow. Prints medians,
 * the ratios watch / by hand and watch / rebuild, and the verdict on the goal (< 1 s median).
 *
 * Big tree: `files` files are added under tree/ and committed, with `ignored` more in an
 * ignored node_modules/. The daemon's CPU at rest (utime + stime from /proc/<pid>/stat) over
 * `seconds` without any watch, then with a watch of the whole tree (its rule scoped to
 * web/public, so the initial sync stays small; watch/start's time, the native watcher's crawl
 * of the tree, is printed) — `seconds` just after the start, printed apart, then `seconds` at
 * rest, the figure compared; then `rounds` changes of web/public/index.html: write → watch/event
 * and write → served, against the same on the small tree above.
 *
 * Fails on an error or a wrong answer: an answer neither old nor new, a sync that failed, a
 * deployment that did not end running. A file caught half replaced in the container (a 404 of
 * the service, or a beginning of the new body: the engine's archive upload, `docker cp`'s too,
 * removes a file before it writes the new one) is counted as torn and printed, not failed.
 * Missing the goal is printed, not failed.
 * Everything created carries `branchbox.bench=<run id>` and is removed at the end, also on
 * failure or Ctrl-C (the sandbox, its containers, network and images, the repository).
 *
 * The repository is made in /dev/shm (tmpfs) when there is one (`--on-disk`: in the temporary
 * folder): see {@link repoParent}.
 *
 *   node --import tsx bench/watch.bench.ts [--quick] [--rounds N] [--seconds N] [--files N] [--ignored N] [--on-disk]
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { QUIET_PERIOD_MS } from '../daemon/src/watch/tree-watcher';
import type { StreamItem } from '../schemas/src/index';
import { DAEMON_JS, deployFinal, portWindows, startTestDaemon, type TestClient, type TestDaemon } from '../test/helpers/daemon';
import { docker } from '../test/helpers/docker-fixtures';
import { cleanupOnce } from './lib/cleanup';
import { CLOCK_TICKS, cpuPercent, processCpuSeconds } from './lib/cpu';
import { runBench, type Report } from './lib/report';
import { waitServed } from './lib/served';
import { formatMs, formatSpread, median, printTable } from './lib/stats';
import { addBigTree, createWatchRepo, NODE_CASE, STATIC_CASE, type WatchCase, type WatchRepo } from './lib/watch-project';

const OPTIONS = {
  rounds: { full: 10, quick: 3, help: 'rounds of each change (watch, by hand, rebuild) and of the big tree pick-up' },
  seconds: { full: 10, quick: 5, help: 'seconds of each CPU measurement at rest' },
  files: { full: 30_000, quick: 30_000, help: 'committed files of the big tree' },
  ignored: { full: 10_000, quick: 5_000, help: 'files in its ignored node_modules/' },
};
const FLAGS = { 'on-disk': 'the repository in the temporary folder, not in /dev/shm (tmpfs)' };
const TMPFS = '/dev/shm';
const CASES = [STATIC_CASE, NODE_CASE] as const;
const BENCH_LABEL = 'branchbox.bench';
/** P8's goal: save → served, median, on this machine. */
const GOAL_MS = 1_000;
/** The longest wait for a watch event before the run fails. */
const EVENT_TIMEOUT_MS = 120_000;

type WatchEvent = StreamItem<'watch/event'>;
const run = promisify(execFile);

/** watch/event items as they arrive, each with performance.now() at its arrival. */
class EventLog {
  private readonly seen: { readonly event: WatchEvent; readonly at: number }[] = [];
  private readonly waiters = new Set<() => void>();

  get length(): number {
    return this.seen.length;
  }

  add(events: readonly WatchEvent[]): void {
    const at = performance.now();
    for (const event of events) this.seen.push({ event, at });
    for (const wake of this.waiters) wake();
  }

  /** The first event from index `from` on that `accept`s; fails after {@link EVENT_TIMEOUT_MS}. */
  async next(accept: (e: WatchEvent) => boolean, from: number, what: string): Promise<{ event: WatchEvent; at: number }> {
    const deadline = performance.now() + EVENT_TIMEOUT_MS;
    for (;;) {
      const found = this.seen.slice(from).find((s) => accept(s.event));
      if (found) return found;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no watch event in ${EVENT_TIMEOUT_MS / 1000} s: ${what}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }
}

/** The sync event of `c`'s service that acted on its file, after `from`; fails when the sync failed. */
async function syncOf(events: EventLog, c: WatchCase, from: number): Promise<{ event: WatchEvent; at: number }> {
  const found = await events.next(
    (e) => e.kind === 'sync' && e.service === c.service && (e.files ?? []).some((f) => f.path === c.file),
    from,
    `a sync of ${c.file}`,
  );
  if (found.event.outcome !== 'ok') throw new Error(`the ${found.event.action} of ${c.file} failed: ${found.event.error ?? ''}`);
  if (found.event.action !== c.action) throw new Error(`${c.file} was acted on by ${found.event.action}, not ${c.action}`);
  return found;
}

interface World {
  readonly client: TestClient;
  readonly repo: WatchRepo;
  readonly sandbox: string;
  readonly gateway: string;
  readonly events: EventLog;
  readonly runId: string;
  /** The answer each service serves now. */
  readonly served: Record<WatchCase['service'], string>;
  /** Where the by-hand copies are written before `docker cp`. */
  readonly handDir: string;
}

interface Timed {
  readonly servedMs: number;
  readonly notReady: number;
  /** The 5xx answers and failed requests while waiting, by kind. */
  readonly notReadyKinds: ReadonlyMap<string, number>;
  /** Answers of the file half replaced (bench/lib/served.ts). */
  readonly torn: number;
  /** watch rounds: write → the watch/event of the sync. */
  readonly eventMs?: number;
  /** watch rounds: the event's own durationMs (the end of the quiet period → the end of the action). */
  readonly actionMs?: number;
}

const answerFor = (w: World, c: WatchCase, side: string, round: number) =>
  `${c.service} ${side} ${round} ${w.runId} ${randomBytes(4).toString('hex')}`;

/** The file written in the working tree, with a watch running. */
async function watchRound(w: World, c: WatchCase, round: number): Promise<Timed> {
  const answer = answerFor(w, c, 'watch', round);
  const from = w.events.length;
  writeFileSync(join(w.repo.root, c.file), c.source(answer));
  const t0 = performance.now();
  const s = await waitServed(`${w.gateway}${c.path}`, { expected: answer, previous: w.served[c.service], since: t0 });
  const sync = await syncOf(w.events, c, from);
  w.served[c.service] = answer;
  return { servedMs: s.ms, notReady: s.notReady, notReadyKinds: s.notReadyKinds, torn: s.torn, eventMs: sync.at - t0, ...(sync.event.durationMs !== undefined ? { actionMs: sync.event.durationMs } : {}) };
}

/** The same change by hand into the serving container: `docker cp`, and `docker restart` for sync+restart. */
async function handRound(w: World, c: WatchCase, round: number): Promise<Timed> {
  const answer = answerFor(w, c, 'hand', round);
  const serving = (await w.client.request('sandbox/get', { name: w.sandbox })).services.find((s) => s.service === c.service);
  if (!serving?.containerId) throw new Error(`${c.service} has no serving container in ${w.sandbox}`);
  const local = join(w.handDir, `${c.service}-${round}`);
  writeFileSync(local, c.source(answer));
  const t0 = performance.now();
  await run('docker', ['cp', local, `${serving.containerId}:${c.target}`]);
  if (c.action === 'sync+restart') await run('docker', ['restart', serving.containerId]);
  const s = await waitServed(`${w.gateway}${c.path}`, { expected: answer, previous: w.served[c.service], since: t0 });
  w.served[c.service] = answer;
  return { servedMs: s.ms, notReady: s.notReady, notReadyKinds: s.notReadyKinds, torn: s.torn };
}

/** The file written, then the service deployed again from the working tree (no watch running). */
async function rebuildRound(w: World, c: WatchCase, round: number): Promise<Timed> {
  const answer = answerFor(w, c, 'rebuild', round);
  writeFileSync(join(w.repo.root, c.file), c.source(answer));
  const t0 = performance.now();
  const { deployments } = await w.client.request('deploy/start', {
    repoPath: w.repo.root,
    sandbox: w.sandbox,
    services: [c.service],
    includeUncommitted: true,
  });
  const id = deployments[0]!.id;
  const ended = new Promise<void>((resolve, reject) => {
    void w.client
      .subscribe('deploy/subscribe', { deployment: id }, 'deploy/progress', { onItems: () => undefined, onEnd: () => resolve() })
      .catch(reject);
  });
  ended.catch(() => undefined); // awaited below; not unhandled when the wait fails first
  const s = await waitServed(`${w.gateway}${c.path}`, { expected: answer, previous: w.served[c.service], since: t0, timeoutMs: 300_000 });
  await ended;
  const final = await w.client.request('deploy/get', { id });
  if (final.status !== 'running') throw new Error(`the rebuild of ${c.service} ended ${final.status}: ${final.diagnosis ?? ''}`);
  w.served[c.service] = answer;
  return { servedMs: s.ms, notReady: s.notReady, notReadyKinds: s.notReadyKinds, torn: s.torn };
}

const load1 = () => `load ${loadavg()[0]!.toFixed(2)}`;
const benchStarted = performance.now();
/** For progress lines: how long the run has taken so far, and the load. */
const progress = () => `${((performance.now() - benchStarted) / 1000).toFixed(0)} s in, ${load1()}`;
const medianOf = (xs: readonly Timed[], key: (t: Timed) => number | undefined) => median(xs.map(key).filter((v): v is number => v !== undefined));

interface P8 {
  readonly watch: Record<WatchCase['service'], Timed[]>;
  readonly hand: Record<WatchCase['service'], Timed[]>;
  readonly rebuild: Record<WatchCase['service'], Timed[]>;
  readonly watchStartMs: number;
}

async function measureP8(w: World, rounds: number): Promise<P8> {
  const from = w.events.length;
  const started = performance.now();
  await w.client.request('watch/start', { sandbox: w.sandbox, repoPath: w.repo.root });
  const figures: P8 = {
    watch: { web: [], api: [] },
    hand: { web: [], api: [] },
    rebuild: { web: [], api: [] },
    watchStartMs: performance.now() - started,
  };
  for (const c of CASES) {
    const initial = await w.events.next((e) => e.kind === 'sync' && e.service === c.service && e.initial === true, from, `the initial sync of ${c.service}`);
    if (initial.event.outcome !== 'ok') throw new Error(`the initial sync of ${c.service} failed: ${initial.event.error ?? ''}`);
  }
  for (let round = 0; round < rounds; round++) {
    // Alternate which side goes first, so neither always meets a busier engine.
    const sides = round % 2 === 0 ? (['watch', 'hand'] as const) : (['hand', 'watch'] as const);
    for (const side of sides)
      for (const c of CASES) figures[side][c.service].push(await (side === 'watch' ? watchRound : handRound)(w, c, round));
    console.log(`watch / by hand round ${round + 1}/${rounds} done (${progress()})`);
  }
  if (!(await w.client.request('watch/stop', { sandbox: w.sandbox })).stopped) throw new Error('the watch was not running at its stop');
  for (let round = 0; round < rounds; round++) {
    for (const c of CASES) figures.rebuild[c.service].push(await rebuildRound(w, c, round));
    console.log(`rebuild round ${round + 1}/${rounds} done (${progress()})`);
  }
  return figures;
}

function reportP8(p8: P8, report: Report): void {
  console.log(`\nP8: save → served through the gateway, median of ${p8.watch.web.length} rounds (${load1()})\n`);
  const rows: string[][] = [];
  for (const c of CASES) {
    const [watch, hand, rebuild] = [p8.watch[c.service], p8.hand[c.service], p8.rebuild[c.service]];
    const served = (xs: Timed[]) => medianOf(xs, (t) => t.servedMs);
    const byHand = c.action === 'sync' ? 'docker cp' : 'docker cp + restart';
    rows.push([
      `${c.action} (${c.service})`,
      formatMs(served(watch)),
      formatMs(medianOf(watch, (t) => t.eventMs)),
      formatMs(medianOf(watch, (t) => t.actionMs)),
      `${formatMs(served(hand))} (${byHand})`,
      formatMs(served(rebuild)),
      served(watch) < GOAL_MS ? 'met' : 'MISSED',
    ]);
    report.ratio(`${c.action}: watch / by hand (${byHand})`, served(watch) / served(hand), `${formatMs(served(watch))} vs ${formatMs(served(hand))}`);
    report.ratio(`${c.action}: watch / full rebuild`, served(watch) / served(rebuild), `${formatMs(served(watch))} vs ${formatMs(served(rebuild))}`);
  }
  printTable(['change', 'watch: served', 'watch: event', 'of it the action', 'by hand: served', 'rebuild: served', `goal < ${formatMs(GOAL_MS)}`], rows);
  console.log(`watch: event is write → the watch/event's arrival; the action its durationMs (after the ${QUIET_PERIOD_MS} ms quiet period and git check-ignore)`);
  console.log('\nspread over rounds (served)');
  printTable(
    ['change', 'watch', 'by hand', 'rebuild', '5xx/failed while waiting (watch, hand, rebuild)', 'torn (watch, hand, rebuild)'],
    CASES.map((c) => {
      const spreadOf = (xs: Timed[]) => formatSpread(xs.map((t) => t.servedMs), formatMs);
      const sum = (key: 'notReady' | 'torn') => [p8.watch, p8.hand, p8.rebuild].map((side) => String(side[c.service].reduce((n, t) => n + t[key], 0))).join(', ');
      return [`${c.action} (${c.service})`, spreadOf(p8.watch[c.service]), spreadOf(p8.hand[c.service]), spreadOf(p8.rebuild[c.service]), sum('notReady'), sum('torn')];
    }),
  );
  console.log('torn: a 404 or part of the new file while it is replaced in the container (the archive upload removes it first)');
  // What the 5xx and failed requests were (a rebuild switches over to a healthy container: any there is worth a look).
  for (const c of CASES)
    for (const side of ['watch', 'hand', 'rebuild'] as const) {
      const kinds = new Map<string, number>();
      for (const t of p8[side][c.service]) for (const [k, n] of t.notReadyKinds) kinds.set(k, (kinds.get(k) ?? 0) + n);
      const top = [...kinds].sort((a, b) => b[1] - a[1]);
      if (top.length) console.log(`failed answers, ${c.service} ${side}: ${top.slice(0, 3).map(([k, n]) => `${n}× ${k}`).join('; ')}${top.length > 3 ? '; …' : ''}`);
    }
  console.log(`watch/start on the small tree answered in ${formatMs(p8.watchStartMs)}`);
}

/** The daemon's CPU over `seconds` of wall time, as % of one core. */
async function restingCpu(pid: number, seconds: number): Promise<number> {
  const cpu = processCpuSeconds(pid);
  const wall = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  return cpuPercent(processCpuSeconds(pid) - cpu, (performance.now() - wall) / 1000);
}

async function measureBigTree(w: World, pid: number, o: { files: number; ignored: number; seconds: number; rounds: number }, small: Timed[], report: Report): Promise<void> {
  console.log(`\nBig tree: ${o.files} committed files under tree/, ${o.ignored} ignored under node_modules/`);
  let t = performance.now();
  addBigTree(w.repo, o.files, o.ignored);
  const writeMs = performance.now() - t;
  t = performance.now();
  w.repo.commitAll('watch bench: a big tree');
  console.log(`written in ${formatMs(writeMs)}, committed in ${formatMs(performance.now() - t)} (${progress()})`);

  console.log(`daemon CPU at rest without a watch, ${o.seconds} s…`);
  const idle = await restingCpu(pid, o.seconds);
  const idleLoad = load1();
  const from = w.events.length;
  t = performance.now();
  await w.client.request('watch/start', { sandbox: w.sandbox, repoPath: w.repo.root, services: [STATIC_CASE.service] });
  const startMs = performance.now() - t;
  const initial = await w.events.next((e) => e.kind === 'sync' && e.service === STATIC_CASE.service && e.initial === true, from, 'the initial sync on the big tree');
  if (initial.event.outcome !== 'ok') throw new Error(`the initial sync on the big tree failed: ${initial.event.error ?? ''}`);
  console.log(`watch/start on the big tree answered in ${formatMs(startMs)}, its initial sync (${initial.event.fileCount ?? 0} files) after ${formatMs(initial.at - t)}`);
  // The first seconds after the start still settle (the crawl's garbage collected): measured
  // apart, and "at rest" is the window after them.
  console.log(`daemon CPU watching the big tree: ${o.seconds} s just after the start, then ${o.seconds} s at rest…`);
  const settling = await restingCpu(pid, o.seconds);
  const watching = await restingCpu(pid, o.seconds);
  const watchingLoad = load1();

  const big: Timed[] = [];
  for (let round = 0; round < o.rounds; round++) big.push(await watchRound(w, STATIC_CASE, round));
  if (!(await w.client.request('watch/stop', { sandbox: w.sandbox })).stopped) throw new Error('the big tree watch was not running at its stop');

  console.log(`\nWatcher on the big tree, median of ${o.rounds} rounds (${load1()})\n`);
  const event = (xs: Timed[]) => medianOf(xs, (x) => x.eventMs);
  const served = (xs: Timed[]) => medianOf(xs, (x) => x.servedMs);
  const action = (xs: Timed[]) => medianOf(xs, (x) => x.actionMs);
  printTable(
    ['', 'big tree', 'small tree (P8)', 'big / small'],
    [
      ['write → watch/event sync', formatMs(event(big)), formatMs(event(small)), (event(big) / event(small)).toFixed(2) + '×'],
      ['write → served (sync)', formatMs(served(big)), formatMs(served(small)), (served(big) / served(small)).toFixed(2) + '×'],
      ['of it the sync (event durationMs)', formatMs(action(big)), formatMs(action(small)), (action(big) / action(small)).toFixed(2) + '×'],
    ],
  );
  const torn = big.reduce((n, x) => n + x.torn, 0);
  if (torn) console.log(`torn answers while the big tree's changes were synced: ${torn}`);
  console.log(`\ndaemon CPU at rest: ${idle.toFixed(2)} % of one core without a watch (${idleLoad}), ${watching.toFixed(2)} % watching ${o.files + o.ignored} files (${watchingLoad}); ${settling.toFixed(2)} % in the ${o.seconds} s just after the watch started`);
  // /proc counts CPU time in ticks of 10 ms: over a few seconds, a handful of ticks either way is noise.
  console.log(`watching − no watch: ${(((watching - idle) / 100) * 1000).toFixed(1).replace(/^-(0\.0)$/, '$1')} ms of CPU per second (one tick of /proc is ${formatMs((1000 / CLOCK_TICKS) / o.seconds)} per second over ${o.seconds} s)`);
  report.ratio('CPU at rest: watching the big tree / no watch', watching / idle, `${watching.toFixed(2)} % vs ${idle.toFixed(2)} %`);
  report.ratio('pick-up: big tree / small tree (write → event)', event(big) / event(small), `${formatMs(event(big))} vs ${formatMs(event(small))}`);
}

/** Removes every container, network, volume and image labelled with this run. */
async function removeLabelled(label: string): Promise<void> {
  const filters = JSON.stringify({ label: [label] });
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true, v: true });
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove();
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove();
  for (const i of await docker.listImages({ filters })) await docker.getImage(i.Id).remove({ force: true });
}

/**
 * Where the repository goes: a tmpfs when there is one. This machine's disk deletes about a
 * thousand files a second (ext4 mounted with `discard`), so removing the big tree from it takes
 * longer than the whole bench; the figures measured (a file written, inotify, the daemon's
 * CPU) are not the disk's. `--on-disk` puts it in the temporary folder instead.
 */
function repoParent(onDisk: boolean): string {
  return !onDisk && existsSync(TMPFS) ? TMPFS : tmpdir();
}

runBench('watch', { options: OPTIONS, flags: FLAGS }, async ({ options, flags }, report) => {
  if (!existsSync(DAEMON_JS)) throw new Error(`${DAEMON_JS} is missing: run npm run build first`);
  const runId = `bbwatchbench-${randomBytes(4).toString('hex')}`;
  const label = `${BENCH_LABEL}=${runId}`;
  const sandbox = `watch-${runId.slice(-8)}`;
  const initial = `initial ${runId}`;
  const repo = createWatchRepo(`watchbench${runId.slice(-8)}`, initial, repoParent(flags.has('on-disk')));
  console.log(`repository ${repo.root}`);
  const handDir = mkdtempSync(join(tmpdir(), 'bb-watch-bench-hand-'));
  let daemon: TestDaemon | undefined;
  let client: TestClient | undefined;
  const cleanup = cleanupOnce(async (step) => {
    await step('stop the watch', () => client?.request('watch/stop', { sandbox }));
    await step('delete the sandbox', () => client?.request('sandbox/delete', { name: sandbox }));
    await step('close the connection', () => client?.closeSocket());
    await step('stop the daemon', async () => {
      await daemon?.stop();
      await daemon?.dispose();
    });
    await step('remove the Docker objects of the run', () => removeLabelled(label));
    await step('remove the repository', () => repo.dispose());
    await step('remove the by-hand copies', () => rmSync(handDir, { recursive: true, force: true }));
  });

  try {
    daemon = await startTestDaemon({
      env: { BRANCHBOX_EXTRA_LABELS: label, BRANCHBOX_GATEWAY_PORT: 'off', ...portWindows() },
      args: ['--log-level', 'info'],
    });
    client = await daemon.connect('watch-bench');
    await client.request('sandbox/create', { name: sandbox, repoPath: repo.root });
    const gateway = (await client.request('gateway/info', { sandbox })).sandboxes[0]?.gateway?.url;
    if (!gateway) throw new Error(`sandbox ${sandbox} has no gateway`);
    const deployed = await deployFinal(client, { repoPath: repo.root, sandbox, services: CASES.map((c) => c.service) });
    for (const d of deployed) if (d.status !== 'running') throw new Error(`the first deploy of ${d.service} ended ${d.status}: ${d.diagnosis ?? ''}`);
    const events = new EventLog();
    await client.subscribe('watch/subscribe', { sandbox }, 'watch/event', { onItems: (items) => events.add(items), onEnd: () => undefined });
    const w: World = { client, repo, sandbox, gateway, events, runId, served: { web: initial, api: initial }, handDir };
    // Both answer through the gateway before anything is timed.
    for (const c of CASES) await waitServed(`${gateway}${c.path}`, { expected: initial, previous: undefined, since: performance.now() });
    console.log(`sandbox ${sandbox} deployed, gateway ${gateway} (${progress()})`);

    const p8 = await measureP8(w, options.rounds);
    reportP8(p8, report);
    await measureBigTree(w, daemon.process.pid!, options, p8.watch.web, report);
  } finally {
    await cleanup();
  }
});
