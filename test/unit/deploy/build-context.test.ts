/**
 * The build context Branchbox sends: the labelled Dockerfile (a LABEL after every FROM), the
 * tar of the context with the generated files as entries (never written to the folder, links
 * sent as links), and the containment of paths through committed symbolic links.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar-fs';
import { afterAll, describe, expect, it } from 'vitest';
import { closingLabelled, labelledDockerfile, packContext } from '../../../daemon/src/deploy/build-context';
import { containedRealPath, MAX_CONTEXT_FILE_BYTES, readContainedFile } from '../../../daemon/src/deploy/contained-path';
import { DeployCause } from '../../../daemon/src/deploy/diagnosis';

const LABELS = { 'branchbox.managed': 'true', 'branchbox.instance': 'abc123' };
const LABEL = 'LABEL "branchbox.managed"="true" "branchbox.instance"="abc123"';

describe('labelledDockerfile', () => {
  it('puts the labels right after every FROM of a multi-stage Dockerfile', () => {
    const text = ['FROM node:20 AS build', 'RUN make', 'FROM busybox', 'COPY --from=build /out /out', ''].join('\n');
    expect(labelledDockerfile(text, LABELS)).toBe(['FROM node:20 AS build', LABEL, 'RUN make', 'FROM busybox', LABEL, 'COPY --from=build /out /out', ''].join('\n'));
  });

  it('waits for the end of a continued FROM, through comment and empty lines, in any case', () => {
    const text = ['# syntax=docker/dockerfile:1', 'ARG BASE=x', 'from \\', '  # which base', '', '  $BASE AS a', 'RUN true \\', '  && FROM=1', 'CMD x'].join('\n');
    expect(labelledDockerfile(text, LABELS)).toBe(['# syntax=docker/dockerfile:1', 'ARG BASE=x', 'from \\', '  # which base', '', '  $BASE AS a', LABEL, 'RUN true \\', '  && FROM=1', 'CMD x'].join('\n'));
  });

  it('follows the escape directive, and escapes quotes, $ and the escape character in values', () => {
    const text = ['# escape=`', 'FROM x `', '  AS y', 'RUN echo \\'].join('\r\n');
    const out = labelledDockerfile(text, { 'a.b': 'say "hi" $HOME `x` \\ end' });
    expect(out.split('\r\n')).toEqual(['# escape=`', 'FROM x `', '  AS y', 'LABEL "a.b"="say `"hi`" `$HOME ``x`` \\ end"', 'RUN echo \\']);
    expect(labelledDockerfile('FROM x\n', { k: 'a\\b"$c' })).toBe('FROM x\nLABEL "k"="a\\\\b\\"\\$c"\n');
  });

  it('leaves a Dockerfile alone without labels, and does not take a comment or a word for a FROM', () => {
    expect(labelledDockerfile('FROM x\n', {})).toBe('FROM x\n');
    expect(labelledDockerfile('# FROM y\nRUN echo FROM z\nFROMAGE\n', LABELS)).toBe('# FROM y\nRUN echo FROM z\nFROMAGE\n');
  });
});

describe('closingLabelled', () => {
  it('closes the last stage with one LABEL of every label (one build step, not one per label)', () => {
    expect(closingLabelled('FROM x\nRUN make\n', LABELS)).toBe(`FROM x\nRUN make\n${LABEL}\n`);
    expect(closingLabelled('FROM x\nRUN make', LABELS)).toBe(`FROM x\nRUN make\n${LABEL}\n`);
    expect(closingLabelled(['FROM x', 'CMD y', ''].join('\r\n'), LABELS)).toBe(['FROM x', 'CMD y', LABEL, ''].join('\r\n'));
  });

  it('closes the target stage, before the FROM of the next one (stage names in any case)', () => {
    const text = ['FROM a AS Build', 'RUN make \\', '  # still make', '  all', '', '# the runtime', 'from b as served', 'CMD x', 'FROM c AS broken', 'RUN exit 3', ''].join('\n');
    expect(closingLabelled(text, LABELS, 'build')).toBe(['FROM a AS Build', 'RUN make \\', '  # still make', '  all', '', '# the runtime', LABEL, 'from b as served', 'CMD x', 'FROM c AS broken', 'RUN exit 3', ''].join('\n'));
    expect(closingLabelled(text, LABELS, 'served')).toBe(['FROM a AS Build', 'RUN make \\', '  # still make', '  all', '', '# the runtime', 'from b as served', 'CMD x', LABEL, 'FROM c AS broken', 'RUN exit 3', ''].join('\n'));
  });

  it('answers undefined when the stage is not there or the file ends inside an instruction', () => {
    expect(closingLabelled('FROM a AS one\nRUN x\n', LABELS, 'two')).toBeUndefined();
    expect(closingLabelled('FROM a\nRUN make \\\n', LABELS)).toBeUndefined();
    expect(closingLabelled('FROM a\nRUN make `\n\n# c\n', LABELS)).toBe(`FROM a\nRUN make \`\n\n# c\n${LABEL}\n`);
    expect(closingLabelled('# escape=`\nFROM a\nRUN make `\n\n# c\n', LABELS)).toBeUndefined();
  });

  it('after labelledDockerfile, the stage built gets both, and the closing LABEL counts as generated', () => {
    const owned = { 'branchbox.managed': 'true', 'branchbox.base': 'false' };
    const text = closingLabelled(labelledDockerfile('FROM a\nRUN make\n', owned), { ...owned, 'branchbox.commit': 'c0ffee' })!;
    const lines = text.split('\n');
    expect(lines).toEqual(['FROM a', expect.stringMatching(/^LABEL /), 'RUN make', 'LABEL "branchbox.managed"="true" "branchbox.base"="false" "branchbox.commit"="c0ffee"', '']);
  });
});

describe('the context tar', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tempDir = (prefix: string) => {
    const d = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
    dirs.push(d);
    return d;
  };

  /** The entries of the packed context, in order, each with its type, link target and (files) content. */
  async function entriesOf(contextDir: string, dockerfile: string, ignore: string | undefined) {
    const headers: { name: string; type: string; linkname?: string }[] = [];
    const out = tempDir('bb-ctx-out-');
    await new Promise<void>((resolve, reject) => {
      const sink = extract(out, {
        map: (header) => {
          const link = (header as { linkname?: string }).linkname;
          headers.push({ name: header.name, type: header.type ?? 'file', ...(link ? { linkname: link } : {}) });
          return header;
        },
        // Recorded, not made: extracting a link that points out is refused anyway.
        ignore: (_name, header) => header?.type === 'symlink',
      });
      sink.on('finish', () => resolve());
      sink.on('error', reject);
      packContext({ contextDir, dockerfile, ignore }).pipe(sink);
    });
    return headers.map((h) => ({ ...h, body: h.type === 'file' ? readFileSync(join(out, h.name), 'utf8') : '' }));
  }

  it('carries the generated Dockerfile and .dockerignore instead of the committed ones (links too), writing nothing', async () => {
    const outside = tempDir('bb-out-');
    writeFileSync(join(outside, 'victim'), 'untouched');
    const ctx = tempDir('bb-ctx-');
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM x\n');
    writeFileSync(join(ctx, 'app.js'), 'app');
    symlinkSync(join(outside, 'victim'), join(ctx, '.branchbox.Dockerfile'));
    symlinkSync(join(outside, 'victim'), join(ctx, '.dockerignore'));
    symlinkSync(join(outside, 'victim'), join(ctx, 'leak'));
    const before = readdirSync(ctx).sort();

    const entries = await entriesOf(ctx, `FROM x\n${LABEL}\n`, '*.log\n');
    expect(entries.filter((e) => e.name === '.branchbox.Dockerfile')).toEqual([{ name: '.branchbox.Dockerfile', type: 'file', body: `FROM x\n${LABEL}\n` }]);
    expect(entries.filter((e) => e.name === '.dockerignore')).toEqual([{ name: '.dockerignore', type: 'file', body: '*.log\n.branchbox.Dockerfile\n' }]);
    expect(entries.find((e) => e.name === 'leak')).toEqual({ name: 'leak', type: 'symlink', linkname: join(outside, 'victim'), body: '' });
    expect(entries.map((e) => e.body).join('')).not.toContain('untouched');
    expect(readdirSync(ctx).sort()).toEqual(before);
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('untouched');
  });

  it('without a .dockerignore of the context, sends one that leaves out the generated files', async () => {
    const ctx = tempDir('bb-ctx-');
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM x\n');
    const entries = await entriesOf(ctx, 'FROM x\n', undefined);
    expect(entries.find((e) => e.name === '.dockerignore')?.body).toBe('.branchbox.Dockerfile\n.dockerignore\n');
  });
});

describe('paths through links', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'bb-paths-')));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const repo = join(root, 'repo');
  const outside = join(root, 'outside');
  mkdirSync(join(repo, 'services', 'web'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'Dockerfile'), 'FROM evil\n');
  writeFileSync(join(repo, 'services', 'web', 'Dockerfile'), 'FROM good\n');
  symlinkSync(outside, join(repo, 'services', 'out'));
  symlinkSync('web', join(repo, 'services', 'alias'));
  symlinkSync(join(outside, 'Dockerfile'), join(repo, 'services', 'web', 'Dockerfile.out'));
  symlinkSync('Dockerfile', join(repo, 'services', 'web', 'Dockerfile.in'));
  symlinkSync(join(root, 'nowhere'), join(repo, 'services', 'dangling'));
  const context = (rel: string) => containedRealPath({ base: repo, rel, within: repo, what: `the build context "${rel}"`, withinName: 'the repository' });
  const cause = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(DeployCause);
      return (e as Error).message;
    }
    throw new Error('expected a DeployCause');
  };

  it('follows links that stay inside, to their real path', () => {
    expect(context('services/web')).toBe(join(repo, 'services', 'web'));
    expect(context('services/alias')).toBe(join(repo, 'services', 'web'));
    expect(containedRealPath({ base: join(repo, 'services/web'), rel: 'Dockerfile.in', within: join(repo, 'services/web'), what: 'x', withinName: 'y' })).toBe(join(repo, 'services/web/Dockerfile'));
  });

  it('refuses a link out, naming it and where it points, and says when a path or a link leads nowhere', () => {
    expect(cause(() => context('services/out'))).toBe(`the build context "services/out" leads out of the repository: services/out is a symbolic link to ${outside}`);
    expect(cause(() => context('services/out/sub'))).toMatch(/^the build context "services\/out\/sub" is a symbolic link that leads nowhere: services\/out points to/);
    expect(cause(() => context('services/dangling'))).toBe(`the build context "services/dangling" is a symbolic link that leads nowhere: services/dangling points to ${join(root, 'nowhere')}, which does not exist`);
    expect(cause(() => context('services/missing'))).toBe('the build context "services/missing" does not exist (ENOENT)');
    const web = join(repo, 'services/web');
    expect(cause(() => containedRealPath({ base: web, rel: 'Dockerfile.out', within: web, what: 'the Dockerfile "Dockerfile.out"', withinName: 'the build context "services/web"' }))).toBe(
      `the Dockerfile "Dockerfile.out" leads out of the build context "services/web": Dockerfile.out is a symbolic link to ${join(outside, 'Dockerfile')}`,
    );
  });

  it('reads a context file only when it is a regular file inside, of a bounded size', () => {
    const web = join(repo, 'services/web');
    const read = (name: string) => readContainedFile(web, name, name, 'the build context');
    expect(read('Dockerfile')).toBe('FROM good\n');
    expect(read('Dockerfile.in')).toBe('FROM good\n');
    expect(read('absent')).toBeUndefined();
    expect(cause(() => read('Dockerfile.out'))).toBe(`Dockerfile.out is a symbolic link to ${join(outside, 'Dockerfile')}, outside the build context`);
    execFileSync('mkfifo', [join(web, 'fifo')]);
    expect(cause(() => read('fifo'))).toBe('fifo is not a regular file');
    writeFileSync(join(web, 'big'), Buffer.alloc(MAX_CONTEXT_FILE_BYTES + 1));
    expect(cause(() => read('big'))).toMatch(/^big is larger than 1024 KiB/);
  });
});
