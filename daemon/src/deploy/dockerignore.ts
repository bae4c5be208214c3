/**
 * `.dockerignore` as the docker CLI applies it when it sends a build context: the engine
 * itself only drops the Dockerfile and `.dockerignore` when they are listed, so the client
 * must leave the other excluded files out of the context it sends. The matching is
 * `@balena/dockerignore` (the port of the docker CLI's rules that dockerode itself uses).
 */
import ignore from '@balena/dockerignore';

/** The exclusion test of a `.dockerignore` text: true when `relPath` (with `/`) is left out of the context. */
export function dockerignoreMatcher(text: string): (relPath: string) => boolean {
  const rules = ignore().add(text.split(/\r?\n/));
  return (relPath) => rules.ignores(relPath);
}

/** Whether any line re-includes something (then excluded folders must still be walked). */
export function hasExceptions(text: string): boolean {
  return text.split(/\r?\n/).some((line) => line.trim().startsWith('!'));
}
