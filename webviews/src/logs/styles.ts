/** The Logs panel's styles: theme variables only; fixed row height for the virtual list. */
export const LOGS_CSS = `
html, body { height: 100%; overflow: hidden; }
#root.logs { display: flex; flex-direction: column; height: 100vh; }
.log-list { flex: 1; overflow: auto; position: relative; outline: none;
  font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
.log-spacer { width: 1px; }
.log-rows { position: absolute; top: 0; left: 0; right: 0; will-change: transform; }
.log-row { height: 18px; line-height: 18px; white-space: pre; padding: 0 8px; }
.log-row.marker .text { color: var(--vscode-textLink-foreground); font-weight: 600; }
.log-row.err .text { color: var(--vscode-terminal-ansiRed, var(--vscode-errorForeground)); }
.log-row .src { display: inline-block; min-width: 10ch; margin-right: 1ch; font-weight: 600; }
.log-row .ts { color: var(--vscode-descriptionForeground); margin-right: 1ch; }
.log-row .src[hidden], .log-row .ts[hidden] { display: none; }
mark { background: var(--vscode-editor-findMatchHighlightBackground); color: inherit; }
mark.current { background: var(--vscode-editor-findMatchBackground); outline: 1px solid var(--vscode-editor-findMatchBorder, transparent); }
/* The toolbar keeps one row: the search counter has its room whether shown or not, the line
   count and the search field share what is left (the count cut with an ellipsis, whole in its
   tooltip). A panel too narrow for the controls themselves (under ~650 px) still wraps. */
.logs .toolbar > * { flex: none; }
.logs .toolbar vscode-textfield { flex: 1 1 140px; min-width: 100px; max-width: 260px; }
.match-info { min-width: 12ch; white-space: nowrap; font-variant-numeric: tabular-nums; }
.logs .toolbar > .line-count { flex: 1 1 0; min-width: 7ch; text-align: right; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.sources { display: inline-flex; gap: 6px; }
.ansi-black-fg { color: var(--vscode-terminal-ansiBlack); } .ansi-red-fg { color: var(--vscode-terminal-ansiRed); }
.ansi-green-fg { color: var(--vscode-terminal-ansiGreen); } .ansi-yellow-fg { color: var(--vscode-terminal-ansiYellow); }
.ansi-blue-fg { color: var(--vscode-terminal-ansiBlue); } .ansi-magenta-fg { color: var(--vscode-terminal-ansiMagenta); }
.ansi-cyan-fg { color: var(--vscode-terminal-ansiCyan); } .ansi-white-fg { color: var(--vscode-terminal-ansiWhite); }
.ansi-bright-black-fg { color: var(--vscode-terminal-ansiBrightBlack); } .ansi-bright-red-fg { color: var(--vscode-terminal-ansiBrightRed); }
.ansi-bright-green-fg { color: var(--vscode-terminal-ansiBrightGreen); } .ansi-bright-yellow-fg { color: var(--vscode-terminal-ansiBrightYellow); }
.ansi-bright-blue-fg { color: var(--vscode-terminal-ansiBrightBlue); } .ansi-bright-magenta-fg { color: var(--vscode-terminal-ansiBrightMagenta); }
.ansi-bright-cyan-fg { color: var(--vscode-terminal-ansiBrightCyan); } .ansi-bright-white-fg { color: var(--vscode-terminal-ansiBrightWhite); }
.ansi-black-bg { background: var(--vscode-terminal-ansiBlack); } .ansi-red-bg { background: var(--vscode-terminal-ansiRed); }
.ansi-green-bg { background: var(--vscode-terminal-ansiGreen); } .ansi-yellow-bg { background: var(--vscode-terminal-ansiYellow); }
.ansi-blue-bg { background: var(--vscode-terminal-ansiBlue); } .ansi-magenta-bg { background: var(--vscode-terminal-ansiMagenta); }
.ansi-cyan-bg { background: var(--vscode-terminal-ansiCyan); } .ansi-white-bg { background: var(--vscode-terminal-ansiWhite); }
`;
