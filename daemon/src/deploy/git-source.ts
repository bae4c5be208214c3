/**
 * The deploy source, from git, without touching the user's working tree or index: a ref
 * resolved to a commit, and that commit (or a snapshot of the working tree) exported with
 * `git archive | tar` into a directory the daemon owns.
 *
 * Every command runs with an argument array (never a shell); refs are checked against git's
 * branch-name rules before git sees them, and again by `git check-ref-format --branch`; a ref
 * starting with `-` is rejected, and `--end-of-options` keeps any other from being an option.
 *
 * The working tree with its uncommitted changes is captured like `git stash create` would,
 * but including untracked (not ignored) files: `git add -A` into a throw-away copy of the
 * index (`GIT_INDEX_FILE`), then `git write-tree`. Only objects are written to the repository;
 * its index, working tree and refs stay as they were.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { RpcError } from '../rpc/errors';

export type LineSink = (line: string) => void;

/** The most characters of a command's output quoted in an error. */
const MAX_QUOTED = 600;

/**
 * Throws RpcError InvalidName unless `ref` is a valid branch name by git's rules
 * (`git check-ref-format --branch`), without running git.
 */
export function checkBranchName(ref: string): void {
  const problem = branchNameProblem(ref);
  if (problem) {
    throw new RpcError('InvalidName', `"${printable(ref)}" is not a valid branch name: ${problem}`, { ref: printable(ref) });
  }
}

function branchNameProblem(ref: string): string | undefined {
  if (ref.length === 0) return 'it is empty';
  if (ref.length > 255) return 'it is longer than 255 characters';
  if (ref.startsWith('-')) return 'it starts with "-"';
  if (ref === '@' || ref === 'HEAD') return `"${ref}" is not a branch`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(ref)) return 'it contains a space or a control character';
  const bad = /[~^:?*[\\]/.exec(ref);
  if (bad) return `it contains "${bad[0]}"`;
  if (ref.includes('..')) return 'it contains ".."';
  if (ref.includes('@{')) return 'it contains "@{"';
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//')) return 'it has an empty path component';
  if (ref.endsWith('.')) return 'it ends with "."';
  for (const part of ref.split('/')) {
    if (part.startsWith('.')) return 'a path component starts with "."';
    if (part.endsWith('.lock')) return 'a path component ends with ".lock"';
  }
  return undefined;
}

/** Throws RpcError InvalidName unless `commit` is a (possibly abbreviated) hexadecimal commit id. */
export function checkCommitId(commit: string): void {
  if (!/^[0-9a-fA-F]{4,64}$/.test(commit)) {
    throw new RpcError('InvalidName', `"${printable(commit)}" is not a commit id (4 to 64 hexadecimal digits)`);
  }
}

/**
 * The root of the git repository holding `path` (the nearest folder with a `.git` entry),
 * found without running git. Throws FileNotFound or GitError.
 */
export function findRepoRoot(path: string): string {
  if (!isAbsolute(path)) throw new RpcError('FileNotFound', `The repository path must be absolute: "${path}"`, { path });
  let dir = resolve(path);
  if (!existsSync(dir)) throw new RpcError('FileNotFound', `No folder "${dir}"`, { path: dir });
  if (!statSync(dir).isDirectory()) dir = dirname(dir);
  for (;;) {
    if (existsSync(join(dir, '.git'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new RpcError('GitError', `"${path}" is not inside a git repository`, { path });
    dir = parent;
  }
}

export interface GitOptions {
  readonly signal?: AbortSignal;
  /** Receives every line git prints on stderr (progress, warnings). */
  readonly onLine?: LineSink;
}

export interface ResolvedSource {
  /** The branch, when one was given or HEAD is on one. */
  readonly ref: string | null;
  readonly commit: string;
}

export interface WorkingTreeSnapshot {
  /** The tree of the working tree with every uncommitted change (tracked and untracked, not ignored). */
  readonly tree: string;
  /** Whether it differs from the commit's tree. */
  readonly changed: boolean;
}

export class GitSource {
  constructor(
    /** Where temporary index files go (the daemon's deploy work directory). */
    private readonly workDir: string,
    private readonly git = 'git',
  ) {}

  /** The branch HEAD is on, or null when detached. */
  async currentBranch(root: string, opts: GitOptions = {}): Promise<string | null> {
    const out = await this.run(root, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { ...opts, allowFailure: true });
    return out === undefined ? null : out.trim() || null;
  }

  /** Resolves the branch (default: the current one) or the commit to a full commit id. */
  async resolve(root: string, request: { ref?: string; commit?: string }, opts: GitOptions = {}): Promise<ResolvedSource> {
    let ref = request.ref ?? null;
    if (ref !== null) {
      checkBranchName(ref);
      const valid = await this.run(root, ['check-ref-format', '--branch', ref], { ...opts, allowFailure: true });
      if (valid === undefined) throw new RpcError('InvalidName', `"${printable(ref)}" is not a valid branch name (git check-ref-format --branch)`);
    } else if (request.commit === undefined) {
      ref = await this.currentBranch(root, opts);
    }
    let target: string;
    if (request.commit !== undefined) {
      checkCommitId(request.commit);
      target = request.commit;
    } else {
      target = ref ?? 'HEAD';
    }
    const commit = await this.run(root, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${target}^{commit}`], {
      ...opts,
      allowFailure: true,
    });
    if (commit === undefined || !/^[0-9a-f]{40,64}$/.test(commit.trim())) {
      const what = request.commit !== undefined ? `commit "${target}"` : ref !== null ? `branch "${printable(ref)}"` : 'HEAD commit';
      throw new RpcError('GitError', `No ${what} in ${root}`, { repoPath: root });
    }
    return { ref, commit: commit.trim() };
  }

  /** The tree of `commit`. */
  async treeOf(root: string, commit: string, opts: GitOptions = {}): Promise<string> {
    return (await this.run(root, ['rev-parse', '--verify', '--end-of-options', `${commit}^{tree}`], opts)).trim();
  }

  /**
   * The working tree as a git tree object, uncommitted and untracked (not ignored) files
   * included, compared with `base` (a commit). The user's index is copied, never written.
   */
  async snapshotWorkingTree(root: string, base: string, opts: GitOptions = {}): Promise<WorkingTreeSnapshot> {
    mkdirSync(this.workDir, { recursive: true });
    const index = join(this.workDir, `index-${process.pid}-${Math.random().toString(36).slice(2)}`);
    try {
      const userIndex = resolve(root, (await this.run(root, ['rev-parse', '--git-path', 'index'], opts)).trim());
      if (existsSync(userIndex)) copyFileSync(userIndex, index);
      const env = { GIT_INDEX_FILE: index };
      if (!existsSync(index)) await this.run(root, ['read-tree', '--end-of-options', base], { ...opts, env });
      await this.run(root, ['add', '--all', '--', '.'], { ...opts, env });
      const tree = (await this.run(root, ['write-tree'], { ...opts, env })).trim();
      const baseTree = await this.treeOf(root, base, opts);
      return { tree, changed: tree !== baseTree };
    } finally {
      rmSync(index, { force: true });
      rmSync(`${index}.lock`, { force: true });
    }
  }

  /** Writes the files of `treeish` (a commit or tree id) into `dest` (created), via `git archive | tar -x`. */
  async export(root: string, treeish: string, dest: string, opts: GitOptions = {}): Promise<void> {
    mkdirSync(dest, { recursive: true });
    const signal = opts.signal;
    await new Promise<void>((resolvePromise, reject) => {
      const archive = spawn(this.git, ['-C', root, 'archive', '--format=tar', '--end-of-options', treeish], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: gitEnv(),
        ...(signal ? { signal } : {}),
      });
      const tar = spawn('tar', ['-x', '-f', '-', '-C', dest], { stdio: ['pipe', 'ignore', 'pipe'], ...(signal ? { signal } : {}) });
      archive.stdout.pipe(tar.stdin);
      let archiveErr = '';
      let tarErr = '';
      archive.stderr.on('data', (c: Buffer) => (archiveErr += c.toString()));
      tar.stderr.on('data', (c: Buffer) => (tarErr += c.toString()));
      tar.stdin.on('error', () => undefined); // tar gone: its exit reports why
      let pending = 2;
      let failure: Error | undefined;
      const done = (e?: Error) => {
        failure ??= e;
        if (--pending > 0) return;
        if (failure) reject(failure);
        else resolvePromise();
      };
      archive.on('error', (e) => done(spawnFailure('git', e)));
      tar.on('error', (e) => done(spawnFailure('tar', e)));
      archive.on('close', (code) =>
        done(code === 0 ? undefined : new RpcError('GitError', `git archive ${treeish.slice(0, 12)} failed: ${quote(archiveErr) || `exit code ${code}`}`)),
      );
      tar.on('close', (code) => done(code === 0 ? undefined : new RpcError('GitError', `tar could not extract the archive: ${quote(tarErr) || `exit code ${code}`}`)));
    });
  }

  /**
   * Which of `paths` (relative to `root`, with `/`) git ignores: .gitignore files, .git/info/exclude,
   * core.excludesFile — as `git status` does, so a tracked file is never ignored.
   */
  async ignoredPaths(root: string, paths: readonly string[], opts: GitOptions = {}): Promise<Set<string>> {
    if (paths.length === 0) return new Set();
    const out = await this.run(root, ['check-ignore', '-z', '--stdin'], { ...opts, input: `${paths.join('\0')}\0`, exitCodes: [1] });
    return new Set(out.split('\0').filter(Boolean));
  }

  /**
   * The files of the working tree under `folder` (relative to `root`; `.` for all): tracked and
   * untracked, not ignored, relative to `root` with `/`. Tracked files deleted from the tree are
   * listed too (the index still has them): callers check they exist.
   */
  async workingFiles(root: string, folder: string, opts: GitOptions = {}): Promise<string[]> {
    const out = await this.run(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--deduplicate', '--', folder], { ...opts, env: LITERAL });
    return out.split('\0').filter(Boolean);
  }

  /**
   * Runs git in `root`; answers stdout. A non-zero exit throws RpcError GitError with git's
   * message, or answers undefined with `allowFailure`.
   */
  run(root: string, args: readonly string[], opts: RunOptions & { allowFailure: true }): Promise<string | undefined>;
  run(root: string, args: readonly string[], opts?: RunOptions & { allowFailure?: false }): Promise<string>;
  run(root: string, args: readonly string[], opts: RunOptions & { allowFailure?: boolean } = {}): Promise<string | undefined> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(this.git, ['-C', root, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: gitEnv(opts.env),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      child.stdin.on('error', () => undefined); // git gone: its exit says why
      child.stdin.end(opts.input ?? '');
      let out = '';
      let err = '';
      let partial = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => {
        const text = c.toString();
        err += text;
        if (opts.onLine) {
          const lines = (partial + text).split(/\r?\n|\r/);
          partial = lines.pop() ?? '';
          for (const line of lines) if (line.trim()) opts.onLine(line);
        }
      });
      child.on('error', (e) => reject(spawnFailure('git', e)));
      child.on('close', (code) => {
        if (partial.trim()) opts.onLine?.(partial);
        if (code === 0 || (code !== null && opts.exitCodes?.includes(code))) resolvePromise(out);
        else if (opts.allowFailure) resolvePromise(undefined);
        else reject(new RpcError('GitError', `git ${args[0] ?? ''} failed in ${root}: ${quote(err) || `exit code ${code}`}`, { repoPath: root }));
      });
    });
  }
}

/** How {@link GitSource.run} runs git. */
export interface RunOptions extends GitOptions {
  readonly env?: Record<string, string>;
  /** Written to git's standard input (closed after it); none by default. */
  readonly input?: string;
  /** Exit codes that are answers, not failures (besides 0), e.g. 1 of `check-ignore`: nothing ignored. */
  readonly exitCodes?: readonly number[];
}

/** Paths given to git are file names, never pathspec magic or globs. */
const LITERAL = { GIT_LITERAL_PATHSPECS: '1' };

/** Git's environment: no prompts, no pager, messages in English for the log, the user's config otherwise. */
function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C', ...extra };
}

function spawnFailure(program: string, e: Error): Error {
  if (e.name === 'AbortError') return e;
  const code = (e as NodeJS.ErrnoException).code;
  return new RpcError('GitError', code === 'ENOENT' ? `${program} is not installed (not found on PATH)` : `Cannot run ${program}: ${e.message}`);
}

function quote(text: string): string {
  const trimmed = text.trim().split('\n').filter(Boolean).join(' | ');
  return trimmed.length > MAX_QUOTED ? `…${trimmed.slice(-MAX_QUOTED)}` : trimmed;
}

/** `text` with control characters shown as `?` (for quoting user input in messages). */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 200);
}
