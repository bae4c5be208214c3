/**
 * Which compose files make a project, as `docker compose` finds them in a folder: the first
 * of compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml, then the first
 * override file beside it (compose.override.yaml|yml, docker-compose.override.yml|yaml).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMPOSE_FILE_NAMES, COMPOSE_OVERRIDE_NAMES, isComposeFileName } from '../../../../schemas/src/project-files';

export { COMPOSE_FILE_NAMES, COMPOSE_OVERRIDE_NAMES, isComposeFileName };

/** The compose files of `dir` in merge order, or undefined when it has none. */
export function findComposeFiles(dir: string): string[] | undefined {
  const first = (names: readonly string[]) => names.map((n) => path.join(dir, n)).find((f) => isFile(f));
  const base = first(COMPOSE_FILE_NAMES);
  if (!base) return undefined;
  const override = first(COMPOSE_OVERRIDE_NAMES);
  return override ? [base, override] : [base];
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
