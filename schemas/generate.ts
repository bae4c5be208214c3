/**
 * Writes schemas/openrpc.json from the protocol declaration, and schemas/branchbox.schema.json
 * (the project file's schema, for editors) — `npm run schemas`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOpenRpcDocument } from './src/openrpc';
import { buildProjectFileSchema } from './src/project';
import pkg from '../package.json' with { type: 'json' };

const out = join(import.meta.dirname, 'openrpc.json');
writeFileSync(out, JSON.stringify(buildOpenRpcDocument(pkg.version), null, 2) + '\n');
console.log(`wrote ${out}`);

const projectSchema = join(import.meta.dirname, 'branchbox.schema.json');
writeFileSync(projectSchema, JSON.stringify(buildProjectFileSchema(), null, 2) + '\n');
console.log(`wrote ${projectSchema}`);
