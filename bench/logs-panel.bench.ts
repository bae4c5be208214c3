/**
 * The Logs panel end to end, as far as it runs outside VS Code: a container prints LINES
 * lines → a real branchboxd (WebSocket) → the extension's LogFeed/LogBatcher (batches, acks,
 * throttling) → each batch JSON-serialized as VS Code's postMessage does → the webview's
 * LogStore + LogView + virtualized LogList in happy-dom, applied and rendered per batch.
 *
 * Reports lines/s end to end (subscribe → last line rendered), batches, and the webview's
 * longest main-thread stall: the longest apply + render of one batch (performance.now around
 * it) and, as a cross-check, the worst lateness of a 10 ms timer (which also includes the
 * extension side, since both run on this one thread here). The plain alternative, in the same
 * run: `docker logs <id>` reading the same lines (what a terminal shows), for the ratio of
 * lines/s. Fails when the panel does not receive every line, or a search for the last line
 * does not find it exactly once.
 *
 *   node --import tsx bench/logs-panel.bench.ts [--quick] [--lines N]
 */
import type Docker from 'dockerode';
import { Window } from 'happy-dom';
import { LogFeed } from '../extension/src/panels/log-feed';
import type { LogsBatch, ToWebview } from '../schemas/src/webview';
import { startTestDaemon, type TestDaemon } from '../test/helpers/daemon';
import { benchRun, dockerLogsLineCount } from './lib/docker';
import { runBench } from './lib/report';

const OPTIONS = { lines: { full: 1_000_000, quick: 100_000, help: 'lines the container prints' } };

/** `docker logs <id>`, its output counted line by line and dropped; answers the lines and the seconds. */
async function dockerLogs(id: string): Promise<{ lines: number; seconds: number }> {
  const start = performance.now();
  const lines = await dockerLogsLineCount(id);
  return { lines, seconds: (performance.now() - start) / 1000 };
}

runBench('logs-panel', { options: OPTIONS }, async ({ options }, report) => {
  const LINES = options.lines;
  const run = benchRun('bblogpanel');
  let daemon: TestDaemon | undefined;
  const window = new Window();
  Object.assign(globalThis, { document: window.document });
  // The webview modules touch `document` when used, so load them once it exists.
  const { LogStore } = await import('../webviews/src/logs/store');
  const { LogView } = await import('../webviews/src/logs/view');
  const { LogList } = await import('../webviews/src/logs/log-list');
  try {
    const script = `seq 1 ${LINES} | sed 's/.*/\\x1b[32mINFO\\x1b[0m request & served in 12ms path=\\/api\\/items user=alice status=200/'`;
    const container: Docker.Container = await run.createContainer({ Cmd: ['sh', '-c', script] });
    await container.wait();
    console.log(`container ${container.id.slice(0, 12)} printed ${LINES} lines`);

    daemon = await startTestDaemon();
    const client = await daemon.connect('logs-panel-bench');

    const store = new LogStore();
    const view = new LogView(store);
    const list = new LogList(store, view, { schedule: () => undefined });
    window.document.body.append(list.element as unknown as Parameters<typeof window.document.body.append>[0]);

    let applied = 0;
    let batches = 0;
    let maxApply = 0;
    let totalApply = 0;
    let maxBatch = 0;
    let maxRows = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((r) => (done = r));

    // The webview: receives each batch on a later task (postMessage is asynchronous), applies, renders, acks.
    const post = (m: ToWebview) => {
      if (m.type !== 'logs/batch') return;
      const wire = JSON.stringify(m);
      setImmediate(() => {
        const t0 = performance.now();
        const batch = JSON.parse(wire) as LogsBatch;
        list.apply(batch.lines);
        maxRows = Math.max(maxRows, list.render());
        const dt = performance.now() - t0;
        maxApply = Math.max(maxApply, dt);
        totalApply += dt;
        batches++;
        maxBatch = Math.max(maxBatch, batch.lines.length);
        applied += batch.lines.length;
        feed.ack(batch.seq);
        if (applied >= LINES) done();
      });
    };

    let maxLate = 0;
    let last = performance.now();
    const drift = setInterval(() => {
      const now = performance.now();
      maxLate = Math.max(maxLate, now - last - 10);
      last = now;
    }, 10);

    const feed: LogFeed = new LogFeed({
      client,
      sources: [{ container: container.id, label: 'bench' }],
      post,
      tail: 'all',
    });
    const t0 = performance.now();

    await feed.start();
    await finished;
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(drift);
    await feed.dispose();
    await client.closeSocket();

    report.check(applied === LINES, `the panel received ${applied} lines, expected ${LINES}`);
    const cli = await dockerLogs(container.id);
    report.check(cli.lines === LINES, `docker logs read ${cli.lines} lines, expected ${LINES}`);
    const mb = process.memoryUsage().heapUsed / 2 ** 20;
    console.log(
      `lines end to end:        ${applied.toLocaleString()} in ${seconds.toFixed(2)} s = ${Math.round(applied / seconds).toLocaleString()} lines/s`,
    );
    const panelRate = applied / seconds;
    const cliRate = cli.lines / cli.seconds;
    console.log(
      `docker logs (terminal):  ${cli.lines.toLocaleString()} in ${cli.seconds.toFixed(2)} s = ${Math.round(cliRate).toLocaleString()} lines/s`,
    );
    console.log(
      `panel / docker logs:     ${report.ratio('panel / docker logs lines/s', panelRate / cliRate, `${Math.round(panelRate)}/s vs ${Math.round(cliRate)}/s`)} (lines/s)`,
    );
    console.log(
      `batches:                 ${batches} (largest ${maxBatch} lines, ${(applied / batches).toFixed(0)} on average)`,
    );
    console.log(
      `webview apply+render:    longest ${maxApply.toFixed(1)} ms, mean ${(totalApply / batches).toFixed(1)} ms per batch`,
    );
    console.log(`timer drift (whole thread): worst ${maxLate.toFixed(1)} ms late`);
    console.log(
      `rows in the DOM:         at most ${maxRows} (store holds ${store.size.toLocaleString()}, view ${view.rows.toLocaleString()} rows)`,
    );
    console.log(`heap used at the end:    ${mb.toFixed(0)} MiB`);
    const firstMatch = performance.now();
    view.setQuery(`request ${LINES} `);
    console.log(
      `search over all lines:   ${(performance.now() - firstMatch).toFixed(0)} ms, ${view.matchCount} match(es)`,
    );
    report.check(view.matchCount === 1, `a search for the last line found ${view.matchCount} matches, expected 1`);
  } finally {
    await run.cleanup();
    await daemon?.stop();
    await daemon?.dispose();
    await window.happyDOM.close();
  }
});
