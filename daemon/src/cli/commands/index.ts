/** The command table: every `branchbox` command, in the order `--help` lists them. */
import type { Command } from '../command';
import { containerCommands } from './containers';
import { daemonCommands } from './daemon';
import { sandboxCommands } from './sandbox';
import { snapshotCommands } from './snapshot';
import { deployCommands } from './deploy';
import { devCommands } from './dev';
import { followCommands } from './follow';
import { envCommands } from './env';
import { auditCommands } from './audit';
import { routeCommands } from './route';
import { forwardCommands } from './forward';
import { waitCommands } from './wait';
import { trustCommands } from './trust';
import { imagesCommands } from './images';

export const commands: readonly Command[] = [
  ...daemonCommands,
  ...containerCommands,
  ...deployCommands,
  ...devCommands,
  ...followCommands,
  ...waitCommands,
  ...sandboxCommands,
  ...snapshotCommands,
  ...routeCommands,
  ...forwardCommands,
  ...envCommands,
  ...trustCommands,
  ...imagesCommands,
  ...auditCommands,
];
