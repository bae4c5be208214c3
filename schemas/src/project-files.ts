/**
 * The files that make a folder a Branchbox project, by base name, for the daemon (which reads
 * them) and the editor (which checks and watches them): branchbox.yaml, else the compose files
 * `docker compose` would read by itself — the first base file of COMPOSE_FILE_NAMES, in that
 * order, then the first override file beside it.
 */
export const BRANCHBOX_FILE_NAMES = ['branchbox.yaml', 'branchbox.yml'] as const;
export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'] as const;
export const COMPOSE_OVERRIDE_NAMES = [
  'compose.override.yaml',
  'compose.override.yml',
  'docker-compose.override.yml',
  'docker-compose.override.yaml',
] as const;

/** Every project file name: a change to any of them can change the project. */
export const PROJECT_FILE_NAMES: readonly string[] = [...BRANCHBOX_FILE_NAMES, ...COMPOSE_FILE_NAMES, ...COMPOSE_OVERRIDE_NAMES];

/** PROJECT_FILE_NAMES as a glob matching them in any folder. */
export const PROJECT_FILE_GLOB = `**/{${PROJECT_FILE_NAMES.join(',')}}`;

const baseName = (path: string) => path.split(/[\\/]/).pop() ?? '';

/** Whether a file (a path, POSIX or Windows, or a base name) is a project file. */
export function isProjectFile(path: string): boolean {
  return PROJECT_FILE_NAMES.includes(baseName(path));
}

/** Whether a file name is one docker compose would read by itself (base or override). */
export function isComposeFileName(name: string): boolean {
  return (COMPOSE_FILE_NAMES as readonly string[]).includes(name) || (COMPOSE_OVERRIDE_NAMES as readonly string[]).includes(name);
}
