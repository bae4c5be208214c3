/** The Stats panel's styles: theme variables only (uPlot's own stylesheet is stats.css). */
export const STATS_CSS = `
.stats { display: flex; flex-direction: column; gap: 8px; padding: 8px; }
.chart-row { display: flex; gap: 12px; align-items: flex-start; border-bottom: 1px solid var(--vscode-panel-border); padding-bottom: 8px; }
.chart-row .side { flex: 0 0 170px; }
.chart-row h3 { margin: 0 0 6px; font-size: 1.05em; font-weight: 600; }
.chart-row .plot { flex: 1; min-width: 0; }
.figure { display: flex; flex-direction: column; margin-bottom: 6px; }
.figure .value { font-size: 1.6em; font-variant-numeric: tabular-nums; }
.figure.cpu .value { color: var(--vscode-charts-blue); }
.figure.memory .value { color: var(--vscode-charts-purple); }
.figure.rx .value { color: var(--vscode-charts-green); }
.figure.tx .value { color: var(--vscode-charts-orange); }
.uplot { font-family: var(--vscode-font-family); color: var(--vscode-foreground); }
.uplot .u-legend { color: var(--vscode-foreground); }
`;
