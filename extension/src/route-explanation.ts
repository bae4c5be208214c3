/**
 * The text of Explain Route, a read-only document (not a toast that vanishes): where a request
 * path goes in a sandbox and why (`route/explain`, the gateway's own decision), then where
 * every service of the sandbox goes now and the project's routes (`route/list`). No `vscode`.
 */
import { plainLine } from '../../schemas/src/plain-text';
import type { Result } from '../../schemas/src/index';
import type { RouteDecisionView } from '../../schemas/src/route';
import { shortSha } from './sandbox-model';

export type SandboxRoutes = Result<'route/list'>;

/** The document's path under the `branchbox:` scheme: one per sandbox, shown again for each path asked. */
export const routeExplanationPath = (sandbox: string): string => `/routes/${sandbox}.route.txt`;

const SELECTED_BY: Record<RouteDecisionView['selectedBy'], string> = {
  gateway: "the sandbox's own gateway",
  header: 'the X-Branchbox-Sandbox header (shared gateway)',
  baggage: 'the baggage entry branchbox-sandbox (shared gateway)',
  none: 'no sandbox named (shared gateway: baseline)',
};

/** Where a target is: `sandbox http://127.0.0.1:43001 (60536f0)`. */
function targetText(target: { kind: string; url: string } | undefined, commit: string | undefined, none: string): string {
  if (!target) return none;
  return `${target.kind} ${target.url}${target.kind === 'sandbox' && commit ? ` (${shortSha(commit)})` : ''}`;
}

/** Rows of `label  value` with the labels aligned. */
function fields(rows: readonly (readonly [string, string | undefined])[]): string[] {
  const present = rows.filter((r): r is readonly [string, string] => r[1] !== undefined);
  const width = Math.max(...present.map(([k]) => k.length));
  return present.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
}

/** A table with a header row, columns padded to their widest cell. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}

/** The whole document for `path` in `sandbox`; `routes` is undefined when `route/list` could not be read. */
export function routeExplanationText(sandbox: string, path: string, d: RouteDecisionView, routes: SandboxRoutes | undefined): string {
  const goes = targetText(d.target, d.commit, `nowhere: the gateway answers ${d.status ?? 404} itself`);
  const gatewayUrl = d.gateway === 'sandbox' ? routes?.gateway?.url : routes?.sharedGateway?.url;
  const lines = [
    `Route of ${path} in sandbox ${sandbox}`,
    '',
    ...fields([
      ['Goes to', goes],
      ['By route', d.route ? `${d.route.prefix} → ${d.route.service}` : 'none matches'],
      ['Gateway', `${SELECTED_BY[d.selectedBy]}${gatewayUrl ? `, ${gatewayUrl}` : ''}`],
      ['Header', `X-Branchbox-Route: ${d.routeHeader}`],
    ]),
    '',
    'Why',
    `  ${plainLine(d.reason).replace(/\.?$/, '.')}`,
  ];
  if (routes) {
    lines.push('', `Where each service of ${sandbox} goes now`);
    lines.push(
      ...table(
        ['SERVICE', 'ROUTED TO', 'GOES TO', 'WHY'],
        routes.services.map((s) => [s.service, s.kind === 'url' && s.url ? `url ${s.url}` : s.kind, targetText(s.effective, s.commit, 'nowhere'), plainLine(s.reason)]),
      ),
    );
    lines.push('', 'Routes of the project (longest prefix first)');
    lines.push(...(routes.routes.length ? routes.routes.map((r) => `  ${r.prefix} → ${r.service}`) : [`  none${routes.problem ? `: ${plainLine(routes.problem)}` : ''}`]));
  }
  return `${lines.join('\n')}\n`;
}
