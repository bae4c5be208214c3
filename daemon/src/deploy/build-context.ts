/**
 * The build context sent to the engine: the files of the context folder that `.dockerignore`
 * leaves in (links sent as links, never followed), plus two generated entries that replace
 * any file of the same name in the folder — the Dockerfile Branchbox builds from (the user's,
 * labelled) and the `.dockerignore` that keeps it out of `COPY`/`ADD`. Nothing is written to
 * the source folder: what a branch committed there (links included) is only ever read.
 */
import { lstatSync } from 'node:fs';
import { relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-fs';
import { dockerignoreMatcher, hasExceptions } from './dockerignore';

/** The name of the generated Dockerfile inside the context sent to the engine. */
export const LABELLED_DOCKERFILE = '.branchbox.Dockerfile';
const IGNORE_FILE = '.dockerignore';

export interface ContextFiles {
  /** The real path of the context folder. */
  readonly contextDir: string;
  /** The text of the generated Dockerfile ({@link labelledDockerfile}). */
  readonly dockerfile: string;
  /** The text of the context's own `.dockerignore`, undefined when it has none. */
  readonly ignore: string | undefined;
}

/** The tar stream of the build context (see the module comment); its Dockerfile is {@link LABELLED_DOCKERFILE}. */
export function packContext(files: ContextFiles): Readable {
  const generated = { mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 };
  return pack(files.contextDir, {
    ignore: contextFilter(files.contextDir, files.ignore ?? ''),
    // Links are sent as links (the engine does not follow them out of the context for COPY).
    dereference: false,
    finalize: false,
    finish: (tar) => {
      tar.entry({ ...generated, name: LABELLED_DOCKERFILE }, files.dockerfile);
      tar.entry({ ...generated, name: IGNORE_FILE }, generatedIgnore(files.ignore));
      tar.finalize();
    },
  }) as unknown as Readable;
}

/**
 * What the walk of the context folder leaves out: what `.dockerignore` excludes, and the
 * folder's own `.branchbox.Dockerfile` and `.dockerignore` (generated entries replace them).
 */
export function contextFilter(contextDir: string, ignoreText: string): (name: string) => boolean {
  const excluded = dockerignoreMatcher(ignoreText);
  const walkExcludedFolders = hasExceptions(ignoreText);
  return (name) => {
    const rel = relative(contextDir, name).split(sep).join('/');
    if (rel === '') return false;
    if (rel === LABELLED_DOCKERFILE || rel === IGNORE_FILE) return true;
    if (!excluded(rel)) return false;
    // A re-included file may sit in an excluded folder: walk real folders (never a link).
    return !(walkExcludedFolders && lstatSync(name, { throwIfNoEntry: false })?.isDirectory());
  };
}

/** The `.dockerignore` sent: the context's own with the generated Dockerfile added, or one of its own. */
export function generatedIgnore(ignore: string | undefined): string {
  return ignore === undefined ? `${LABELLED_DOCKERFILE}\n${IGNORE_FILE}\n` : `${ignore.replace(/\s*$/, '')}\n${LABELLED_DOCKERFILE}\n`;
}

/**
 * The Dockerfile `text` with the image labels appended as one `LABEL` instruction.
 */
export function labelledDockerfile(text: string, labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  const label = entries.length ? `\nLABEL ${entries.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ')}\n` : '\n';
  return `${text.replace(/\s*$/, '')}${label}`;
}
