/**
 * The Deployment panel: a snapshot (record, log tail, the service's history), then live
 * `deploy/progress`. While the deployment runs, the running stage's duration ticks each second.
 */
import { BASE_CSS, Bridge, adoptStyles, type Push } from '../shared/bridge';
import { DEPLOYMENT_CSS } from './styles';
import { DeploymentView } from './view';

adoptStyles(BASE_CSS + DEPLOYMENT_CSS);

const view = new DeploymentView();
const root = document.getElementById('root')!;
root.append(view.element);

setInterval(() => {
  if (view.running) view.invalidate();
}, 1000);

new Bridge((m: Push) => {
  switch (m.type) {
    case 'init':
      if (m.target.kind !== 'deployment') return;
      document.title = m.target.title;
      view.showStatus('info', 'Loading…');
      return;
    case 'deploy/snapshot':
      view.showStatus('info', '');
      view.snapshot(m);
      return;
    case 'deploy/progress':
      view.progress(m);
      return;
    case 'status':
      view.showStatus(m.level, m.text);
      return;
    default:
      return;
  }
});
