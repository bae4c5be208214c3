/**
 * The build context sent to the engine: the files of the context folder that `.dockerignore`
 * leaves in (links sent as links, never followed), plus two generated entries that replace
 * any file of the same name in the folder — the Dockerfile Branchbox builds from (the user's,
 * labelled) and the `.dockerignore` that keeps it out of `COPY`/`ADD`. Nothing is written to
 * the source folder: what a branch committed there (links included) is only ever read.
 *
 * The labels go after EVERY `FROM` (each stage of a multi-stage build), so that every image
 * the classic builder commits — each step's intermediate image, the dangling ones a cancelled
 * build leaves, the tagged one — carries them instead of inheriting only its base's. The
 * tagged image's own labels (its commit, which would defeat the layer cache after every
 * `FROM`) close the stage built, in one `LABEL` step rather than one step per label.
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
  const out = [...lines];
  // From the last to the first, so that the earlier line numbers stay true.
  const froms = instructionsOf(lines, escape).filter((i) => i.keyword === 'from' && i.ended);
  for (const from of froms.reverse()) out.splice(from.last + 1, 0, lines[from.last]!.endsWith('\r') ? `${label}\r` : label);
  // A FROM continued past the end of the file gets no LABEL of its own (the build API's
  // labels still reach the tagged image).
  return out.join('\n');
}

/**
 * The Dockerfile `text` with one `LABEL` instruction of `labels` closing the stage the build
 * ends with — the one named `target`, else the last —, so that the tagged image carries them
 * at the cost of one step (the classic builder makes a step of each label given through the
 * build API). Undefined when there is no such stage, or when its last instruction is continued
 * past the end of the file (a line added there would be part of it): the labels then go
 * through the build API.
 */
export function closingLabelled(text: string, labels: Readonly<Record<string, string>>, target?: string): string | undefined {
  const lines = text.split('\n');
  const escape = escapeCharacter(lines);
  const label = labelInstruction(labels, escape);
  if (!label) return text;
  const all = instructionsOf(lines, escape);
  const froms = all.filter((i) => i.keyword === 'from');
  const index = target === undefined ? froms.length - 1 : froms.findIndex((f) => stageName(f.text) === target.toLowerCase());
  if (index < 0) return undefined;
  const next = froms[index + 1];
  const crlf = lines.some((l) => l.endsWith('\r'));
  if (next) {
    const out = [...lines];
    out.splice(next.first, 0, crlf ? `${label}\r` : label);
    return out.join('\n');
  }
  if (all.length && !all[all.length - 1]!.ended) return undefined;
  const eol = crlf ? '\r\n' : '\n';
  const body = text.endsWith('\n') ? text : `${text}${eol}`;
  return `${body}${label}${eol}`;
}

/** One instruction of a Dockerfile: its first and last line, its keyword (lower case), its text without the escaped line breaks. */
interface Instruction {
  readonly first: number;
  readonly last: number;
  readonly keyword: string;
  readonly text: string;
  /** False for an instruction continued past the end of the file. */
  readonly ended: boolean;
}

/** The instructions of a Dockerfile's lines, as the engine's parser reads them. */
function instructionsOf(lines: readonly string[], escape: string): Instruction[] {
  const out: Instruction[] = [];
  let open: { first: number; last: number; parts: string[] } | undefined;
  lines.forEach((line, n) => {
    const content = line.replace(/\r$/, '');
    const trimmed = content.trim();
    // Outside an instruction empty and comment lines are skipped; inside one they neither end nor continue it.
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const continued = content.trimEnd().endsWith(escape);
    const part = continued ? content.trimEnd().slice(0, -escape.length) : content;
    if (open) {
      open.last = n;
      open.parts.push(part);
    } else {
      open = { first: n, last: n, parts: [part] };
    }
    if (!continued) {
      out.push(instruction(open, true));
      open = undefined;
    }
  });
  if (open) out.push(instruction(open, false));
  return out;
}

function instruction(open: { first: number; last: number; parts: string[] }, ended: boolean): Instruction {
  const text = open.parts.join(' ').trim();
  return { first: open.first, last: open.last, keyword: text.split(/\s+/, 1)[0]!.toLowerCase(), text, ended };
}

/** The stage name of a `FROM image AS name` instruction (lower case, as the builder compares them). */
function stageName(from: string): string | undefined {
  const words = from.split(/\s+/);
  return words.length >= 4 && words[words.length - 2]!.toLowerCase() === 'as' ? words[words.length - 1]!.toLowerCase() : undefined;
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
