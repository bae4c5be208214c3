/** The Deployment panel's styles: theme variables only; the running stage pulses (CSS animation). */
export const DEPLOYMENT_CSS = `
html, body { height: 100%; }
.deployment { display: flex; flex-direction: column; gap: 8px; padding: 8px 12px; height: 100vh; box-sizing: border-box; }
.deployment h3 { margin: 6px 0 0; font-size: 1em; font-weight: 600; }
.header { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.header .title { font-size: 1.2em; font-weight: 600; }
.badge { padding: 1px 6px; border-radius: 8px; background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); }
.badge.running { background: var(--vscode-testing-iconPassed, var(--vscode-charts-green)); color: var(--vscode-editor-background); }
.badge.failed { background: var(--vscode-testing-iconFailed, var(--vscode-errorForeground)); color: var(--vscode-editor-background); }
.timeline { list-style: none; display: flex; margin: 0; padding: 0; gap: 4px; }
.stage { flex: 1; display: flex; flex-direction: column; gap: 2px; padding: 6px 8px; border-top: 3px solid var(--vscode-panel-border);
  color: var(--vscode-descriptionForeground); }
.stage .name { font-weight: 600; }
.stage .duration { font-variant-numeric: tabular-nums; min-height: 1.2em; }
.stage .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--vscode-panel-border); }
.stage.ok, .stage.reused { border-top-color: var(--vscode-testing-iconPassed, var(--vscode-charts-green)); color: var(--vscode-foreground); }
.stage.ok .dot, .stage.reused .dot { background: var(--vscode-testing-iconPassed, var(--vscode-charts-green)); }
.stage.failed, .stage.interrupted { border-top-color: var(--vscode-testing-iconFailed, var(--vscode-errorForeground)); color: var(--vscode-errorForeground); }
.stage.failed .dot, .stage.interrupted .dot { background: var(--vscode-testing-iconFailed, var(--vscode-errorForeground)); }
.stage.cancelled { border-top-color: var(--vscode-charts-yellow); }
.stage.skipped { opacity: 0.5; }
.stage.running { border-top-color: var(--vscode-progressBar-background); color: var(--vscode-foreground); animation: bb-stage-pulse 1.2s ease-in-out infinite; }
.stage.running .dot { background: var(--vscode-progressBar-background); animation: bb-dot-pulse 1.2s ease-in-out infinite; }
@keyframes bb-stage-pulse { 0%, 100% { background: transparent; } 50% { background: var(--vscode-list-hoverBackground); } }
@keyframes bb-dot-pulse { 0%, 100% { transform: scale(1); opacity: 1; } 50% { transform: scale(1.6); opacity: 0.5; } }
@media (prefers-reduced-motion: reduce) { .stage.running, .stage.running .dot { animation: none; } }
.diagnosis { padding: 6px 8px; border-left: 3px solid var(--vscode-inputValidation-errorBorder, var(--vscode-errorForeground));
  background: var(--vscode-inputValidation-errorBackground, transparent); color: var(--vscode-foreground); font-family: var(--vscode-editor-font-family); }
.diagnosis[hidden] { display: none; }
.history { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 2px; }
.bar-row { display: grid; grid-template-columns: minmax(8ch, 22ch) 1fr 14ch; gap: 8px; align-items: center; }
.bar-row .label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-family: var(--vscode-editor-font-family); }
.bar-row .track { height: 8px; background: var(--vscode-editorWidget-background, transparent); }
.bar-row .bar { display: block; height: 100%; background: var(--vscode-charts-blue); }
.bar-row.failed .bar, .bar-row.cancelled .bar { background: var(--vscode-charts-red); }
.bar-row.current .label { font-weight: 600; }
.bar-row .ms { font-variant-numeric: tabular-nums; color: var(--vscode-descriptionForeground); }
.log { flex: 1; min-height: 120px; overflow: auto; margin: 0; padding: 6px 8px; background: var(--vscode-terminal-background, var(--vscode-editor-background));
  border: 1px solid var(--vscode-panel-border); font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
.log .line.daemon { color: var(--vscode-descriptionForeground); }
.log .line.git { color: var(--vscode-terminal-ansiCyan); }
.log .line.runtime { color: var(--vscode-terminal-ansiGreen); }
`;
