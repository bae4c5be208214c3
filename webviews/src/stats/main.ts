/**
 * The Stats panel: the last hour (`history`) then live samples into three uPlot charts with
 * the current figures beside them. Charts follow the panel's width and the colour theme.
 */
import { BASE_CSS, Bridge, adoptStyles, type Push } from '../shared/bridge';
import { useDisplayLanguage } from '../shared/clock';
import { uplotChart } from './charts';
import { STATS_CSS } from './styles';
import { StatsView } from './view';

adoptStyles(BASE_CSS + STATS_CSS);

const view = new StatsView({ charts: uplotChart });
const root = document.getElementById('root')!;
root.className = 'stats-root';
root.append(view.element);
view.layout();

new ResizeObserver(() => view.layout()).observe(view.element);
// VS Code switches the body's theme class (vscode-light, vscode-dark, vscode-high-contrast).
new MutationObserver(() => view.retheme()).observe(document.body, { attributes: true, attributeFilter: ['class'] });

new Bridge((m: Push) => {
  switch (m.type) {
    case 'init':
      if (m.target.kind !== 'stats') return;
      document.title = m.target.title;
      useDisplayLanguage(m.locale);
      view.reset(m.target.sandbox !== undefined);
      view.showStatus('info', 'Loading the last hour…');
      return;
    case 'stats/samples':
      view.apply(m.history, m.samples);
      if (m.history) view.showStatus('info', m.samples.length === 0 ? 'No history yet; live samples follow.' : '');
      else view.showStatus('info', '');
      return;
    case 'status':
      view.showStatus(m.level, m.text);
      return;
    default:
      return;
  }
});
