/**
 * Paths of a deployed source that must stay inside it. A branch may commit symbolic links; a
 * path given in branchbox.yaml (the build context, the Dockerfile) is followed through them
 * to its real path, which must lie inside the real path of its root (the exported source,
 * the build context), or the deployment fails naming the link and where it points. Files the
 * build reads (the Dockerfile, `.dockerignore`) are read from their real paths, without
 * following a link at the last step, and must be regular files of a bounded size.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { DeployCause } from './diagnosis';

/** The largest Dockerfile or `.dockerignore` a build reads. */
export const MAX_CONTEXT_FILE_BYTES = 1024 * 1024;

/** Whether `p` is `root` or inside it (both absolute, compared as text). */
export function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

export interface ContainedPathRequest {
  /** The real path `rel` is relative to. */
  readonly base: string;
  /** The path as branchbox.yaml gives it (relative, already checked not to climb out as text). */
  readonly rel: string;
  /** The real path the result must stay inside. */
  readonly within: string;
  /** How the diagnosis names the path, e.g. `the build context "services/web"`. */
  readonly what: string;
  /** How the diagnosis names `within`, e.g. `the repository`. */
  readonly withinName: string;
}

/**
 * The real path of `base/rel`, which must exist and lie inside `within`.
 * @throws DeployCause naming the first link on the way that leads out (and where it points),
 *   or saying the path does not exist.
 */
export function containedRealPath(req: ContainedPathRequest): string {
  const full = join(req.base, req.rel);
  let real: string;
  try {
    real = realpathSync(full);
  } catch (e) {
    const link = firstLink(req.base, req.rel);
    if (link) throw new DeployCause(`${req.what} is a symbolic link that leads nowhere: ${link.path} points to ${link.target}, which does not exist`);
    throw new DeployCause(`${req.what} does not exist (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!isInside(req.within, real)) {
    const link = firstLink(req.base, req.rel, req.within);
    const how = link ? `${link.path} is a symbolic link to ${link.target}` : `it resolves to ${real}`;
    throw new DeployCause(`${req.what} leads out of ${req.withinName}: ${how}`);
  }
  return real;
}

/** The first component of `rel` under `base` that is a symbolic link (leading out of `within`, when given). */
function firstLink(base: string, rel: string, within?: string): { path: string; target: string } | undefined {
  const parts = rel.split(/[\\/]+/).filter((p) => p && p !== '.');
  let current = base;
  for (let i = 0; i < parts.length; i++) {
    const next = join(current, parts[i]!);
    let isLink: boolean;
    try {
      isLink = lstatSync(next).isSymbolicLink();
    } catch {
      return undefined;
    }
    if (!isLink) {
      current = next;
      continue;
    }
    const target = readlinkSync(next);
    let resolved: string | undefined;
    try {
      resolved = realpathSync(next);
    } catch {
      resolved = undefined;
    }
    if (within === undefined || resolved === undefined || !isInside(within, resolved)) return { path: parts.slice(0, i + 1).join('/'), target };
    current = resolved;
  }
  return undefined;
}

/**
 * The text of the file `name` directly inside `dir` (a real path), or undefined when there is
 * none. A link is followed only to a regular file inside `dir`.
 * @throws DeployCause for a link out of `dir`, a dangling link, something that is not a regular
 *   file, or a file larger than {@link MAX_CONTEXT_FILE_BYTES}.
 */
export function readContainedFile(dir: string, name: string, what: string, dirName: string): string | undefined {
  const path = join(dir, name);
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return undefined;
  }
  let real = path;
  if (stat.isSymbolicLink()) {
    const target = readlinkSync(path);
    try {
      real = realpathSync(path);
    } catch {
      throw new DeployCause(`${what} is a symbolic link to ${target}, which does not exist`);
    }
    if (!isInside(dir, real)) throw new DeployCause(`${what} is a symbolic link to ${target}, outside ${dirName}`);
  }
  return readRegularFile(real, what);
}

/** Reads a regular file without following a link at its last step; bounded in size. */
export function readRegularFile(path: string, what: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DeployCause(code === 'ELOOP' ? `${what} is a symbolic link` : `cannot read ${what}: ${code ?? (e as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new DeployCause(`${what} is not a regular file`);
    if (stat.size > MAX_CONTEXT_FILE_BYTES) throw new DeployCause(`${what} is larger than ${MAX_CONTEXT_FILE_BYTES / 1024} KiB (${stat.size} bytes)`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
