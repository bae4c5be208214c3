/**
 * The build context sent to the engine: the files of the context folder that `.dockerignore`
 * leaves in (links sent as links, never followed), plus two generated entries that replace
 * any file of the same name in the folder — the Dockerfile Branchbox builds from (the user's,
 * labelled) and the `.dockerignore` that keeps it out of `COPY`/`ADD`. Nothing is written to
 * the source folder: what a branch committed there (links included) is only ever read.
 *
 * The labels go after EVERY `FROM` (each stage of a multi-stage build), so that every image
 * the classic builder commits — each step's intermediate image, the dangling ones a cancelled
 * build leaves, the tagged one — carries them instead of inheriting only its base's.
 */
import { lstatSync } from 'node:fs';
import { relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-fs';
import { LABELS } from '../docker/labels';
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
 * The Dockerfile `text` with one `LABEL` instruction of `labels` right after each `FROM`
 * instruction (after its continuation lines). Parser directives, comments, line
 * continuations with the file's escape character and comment lines inside an instruction
 * are understood as the engine's parser understands them.
 */
export function labelledDockerfile(text: string, labels: Readonly<Record<string, string>>): string {
  const lines = text.split('\n');
  const escape = escapeCharacter(lines);
  const label = labelInstruction(labels, escape);
  if (!label) return text;
  const out: string[] = [];
  let continuing = false;
  let isFrom = false;
  for (const line of lines) {
    out.push(line);
    const content = line.replace(/\r$/, '');
    const trimmed = content.trim();
    if (!continuing) {
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      isFrom = /^from$/i.test(trimmed.split(/\s+/, 1)[0]!);
    } else if (trimmed === '' || trimmed.startsWith('#')) {
      continue; // inside an instruction: empty and comment lines neither end nor continue it
    }
    continuing = content.trimEnd().endsWith(escape);
    if (!continuing && isFrom) out.push(line.endsWith('\r') ? `${label}\r` : label);
  }
  // A FROM continued past the end of the file gets no LABEL of its own (the build API's
  // labels still reach the tagged image).
  return out.join('\n');
}

/** The escape character of a Dockerfile: its `# escape=` parser directive, or `\`. */
function escapeCharacter(lines: readonly string[]): string {
  for (const line of lines) {
    const directive = /^\s*#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(\S+)\s*$/.exec(line);
    if (!directive) break; // directives only come first
    if (directive[1]!.toLowerCase() === 'escape' && (directive[2] === '`' || directive[2] === '\\')) return directive[2];
  }
  return '\\';
}

/**
 * Whether a build step's instruction is a `LABEL` {@link labelledDockerfile} added: it labels
 * the image as managed and not a base image (the builder numbers it among the user's steps).
 */
export function isGeneratedLabel(instruction: string): boolean {
  return /^LABEL\s/i.test(instruction) && instruction.includes(`"${LABELS.managed}"="true"`) && instruction.includes(`"${LABELS.base}"="false"`);
}

/** `LABEL "k"="v" …` with quotes, `$` and the escape character escaped (no variable expansion). */
function labelInstruction(labels: Readonly<Record<string, string>>, escape: string): string | undefined {
  const entries = Object.entries(labels);
  if (!entries.length) return undefined;
  const quote = (s: string) => `"${s.replace(/[\r\n]+/g, ' ').replace(new RegExp(`[${escape === '\\' ? '\\\\' : escape}"$]`, 'g'), (c) => `${escape}${c}`)}"`;
  return `LABEL ${entries.map(([k, v]) => `${quote(k)}=${quote(v)}`).join(' ')}`;
}
