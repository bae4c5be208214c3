/**
 * The build context sent to the engine: what `.dockerignore` leaves out, and the Dockerfile
 * Branchbox builds from (the user's, with the image labels added).
 */
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { dockerignoreMatcher, hasExceptions } from './dockerignore';

/**
 * What `tar-fs` leaves out of the build context: what `.dockerignore` excludes, except the
 * Dockerfile and `.dockerignore` themselves, which the engine needs (and drops itself).
 */
export function contextFilter(contextDir: string, dockerfile: string): (name: string) => boolean {
  const ignoreFile = join(contextDir, '.dockerignore');
  const text = existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '';
  const excluded = dockerignoreMatcher(text);
  const walkExcludedFolders = hasExceptions(text);
  return (name) => {
    const rel = relative(contextDir, name).split(sep).join('/');
    if (rel === '' || rel === dockerfile || rel === '.dockerignore') return false;
    if (!excluded(rel)) return false;
    return !(walkExcludedFolders && statSync(name, { throwIfNoEntry: false })?.isDirectory());
  };
}

/** The Dockerfile Branchbox writes beside the user's, in its own copy of the source. */
export const LABELLED_DOCKERFILE = '.branchbox.Dockerfile';

/**
 * Writes a copy of the Dockerfile with the image labels appended as one `LABEL` instruction
 * (the build API's `labels` option adds one build step per label), and keeps that copy out
 * of `COPY`/`ADD` through `.dockerignore`. `contextDir` must be the daemon's own copy of the
 * source. Answers the copy's path relative to the context.
 */
export function writeLabelledDockerfile(contextDir: string, dockerfile: string, labels: Readonly<Record<string, string>>): string {
  const original = readFileSync(join(contextDir, dockerfile), 'utf8');
  const entries = Object.entries(labels);
  const label = entries.length ? `\nLABEL ${entries.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ')}\n` : '\n';
  writeFileSync(join(contextDir, LABELLED_DOCKERFILE), `${original.replace(/\s*$/, '')}${label}`);
  const ignore = join(contextDir, '.dockerignore');
  if (existsSync(ignore)) appendFileSync(ignore, `\n${LABELLED_DOCKERFILE}\n`);
  else writeFileSync(ignore, `${LABELLED_DOCKERFILE}\n.dockerignore\n`);
  return LABELLED_DOCKERFILE;
}
