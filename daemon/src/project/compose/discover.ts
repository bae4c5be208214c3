/**
 * Which compose files make a project, as `docker compose` finds them in a folder: the first
 * of compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml, then the first
 * override file beside it (compose.override.yaml|yml, docker-compose.override.yml|yaml).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'] as const;
export const COMPOSE_OVERRIDE_NAMES = [
  'compose.override.yaml',
  'compose.override.yml',
  'docker-compose.override.yml',
  'docker-compose.override.yaml',
] as const;

/** Whether a file name is one docker compose would read by itself (base or override). */
export function isComposeFileName(name: string): boolean {
  return (COMPOSE_FILE_NAMES as readonly string[]).includes(name) || (COMPOSE_OVERRIDE_NAMES as readonly string[]).includes(name);
}

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
