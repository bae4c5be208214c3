/**
 * The Logs panel end to end, as far as it runs outside VS Code: a container prints LINES
 * lines → a real branchboxd (WebSocket) → the extension's LogFeed/LogBatcher (batches, acks,
 * throttling) → each batch JSON-serialized as VS Code's postMessage does → the webview's
 * LogStore + LogView + virtualized LogList in happy-dom, applied and rendered per batch.
 *
 * Reports lines/s end to end (subscribe → last line rendered), batches, and the webview's
 * longest main-thread stall: the longest apply + render of one batch (performance.now around
 * it) and, as a cross-check, the worst lateness of a 10 ms timer (which also includes the
 * extension side, since both run on this one thread here).
 *
 *   node --import tsx bench/logs-panel.bench.ts [lines]
 */
import type Docker from 'dockerode';
import { Window } from 'happy-dom';
import { LogFeed } from '../extension/src/panels/log-feed';
import type { LogsBatch, ToWebview } from '../schemas/src/webview';
import { startTestDaemon, type TestDaemon } from '../test/helpers/daemon';
import { benchRun } from './lib/docker';

const LINES = Number(process.argv[2] ?? 1_000_000);

async function main(): Promise<void> {
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

    const feed: LogFeed = new LogFeed({ client, sources: [{ container: container.id, label: 'bench' }], post, tail: 'all' });
    const t0 = performance.now();

    await feed.start();
    await finished;
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(drift);
    await feed.dispose();
    await client.closeSocket();

    const mb = process.memoryUsage().heapUsed / 2 ** 20;
    console.log(`lines end to end:        ${applied.toLocaleString()} in ${seconds.toFixed(2)} s = ${Math.round(applied / seconds).toLocaleString()} lines/s`);
    console.log(`batches:                 ${batches} (largest ${maxBatch} lines, ${(applied / batches).toFixed(0)} on average)`);
    console.log(`webview apply+render:    longest ${maxApply.toFixed(1)} ms, mean ${(totalApply / batches).toFixed(1)} ms per batch`);
    console.log(`timer drift (whole thread): worst ${maxLate.toFixed(1)} ms late`);
    console.log(`rows in the DOM:         at most ${maxRows} (store holds ${store.size.toLocaleString()}, view ${view.rows.toLocaleString()} rows)`);
    console.log(`heap used at the end:    ${mb.toFixed(0)} MiB`);
    const firstMatch = performance.now();
    view.setQuery('request 999999 ');
    console.log(`search over all lines:   ${(performance.now() - firstMatch).toFixed(0)} ms, ${view.matchCount} match(es)`);
  } finally {
    await run.cleanup();
    await daemon?.stop();
    await daemon?.dispose();
    await window.happyDOM.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
