/** Writes schemas/openrpc.json from the protocol declaration (`npm run schemas`). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOpenRpcDocument } from './src/openrpc';
import pkg from '../package.json' with { type: 'json' };

const out = join(import.meta.dirname, 'openrpc.json');
writeFileSync(out, JSON.stringify(buildOpenRpcDocument(pkg.version), null, 2) + '\n');
console.log(`wrote ${out}`);
