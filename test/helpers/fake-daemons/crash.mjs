// A branchboxd that crashes: it accepts a connection, then the whole process exits (as
// vscode-languageserver-node's crashServer does), leaving its runtime file behind.
import { startFakeDaemon } from './common.mjs';

startFakeDaemon(() => process.exit(3));
