/**
 * The build stage of a deployment: the image a Dockerfile builds (or reuses, for the same
 * source), an existing image, or a host build command run in the exported source — the last
 * only when the user trusted it for this repository. Every path the build reads is followed
 * through links and must stay inside the build context; the generated Dockerfile and
 * `.dockerignore` travel in the tar stream.
 */
import { realpathSync } from 'node:fs';
import { relative } from 'node:path';
import { LABELS } from '../docker/labels';
import { untrustedMessage } from '../trust/host-commands';
import { normalContext } from '../trust/trust-store';
import { closingLabelled, labelledDockerfile } from './build-context';
import { containedRealPath, readContainedFile, readRegularFile } from './contained-path';
import { isBuildFailure } from './deploy-docker';
import type { RunContext, RunDeps } from './deploy-run';
import { DeployCause, buildNoiseRemoved, failedStepText, withLines } from './diagnosis';
import { runHostCommand } from './host-build';
import type { DeployServiceConfig, StageOutcome } from './types';

/** How many build lines a "build failed" diagnosis quotes. */
const BUILD_TAIL = 4;

/** What the prepare stage hands on. */
export interface Prepared {
  readonly ref: string | null;
  readonly commit: string;
  readonly sourceHash: string | null;
  /** With uncommitted changes (sourceHash): how many files of the context they change (the service's working-tree marker). */
  readonly changedFiles?: number;
  readonly exportDir: string;
  /** The real path of the build context, inside the real path of the exported source. */
  readonly contextDir: string;
  readonly projectName: string;
  readonly config: DeployServiceConfig;
}

/** What the build stage hands on to start the container. */
export interface Built {
  readonly image: string;
  readonly cmd?: readonly string[];
  readonly binds?: readonly string[];
  /** Command builds run from the exported folder: it must outlive the deployment's container. */
  readonly keepSource: boolean;
}

/** The image tag of a Dockerfile build: by project, service, commit (and source hash for uncommitted changes). */
export function imageTag(project: string, service: string, commit: string, sourceHash: string | null): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'x';
  return `branchbox/${clean(project)}-${clean(service)}:${commit.slice(0, 12)}${sourceHash ? `-${sourceHash.slice(0, 12)}` : ''}`;
}

/** Builds, reuses or checks the image of the service; `created.keepSource` is set for a host build. */
export async function build(
  ctx: RunContext,
  deps: RunDeps,
  p: Prepared,
  setOutcome: (o: StageOutcome) => void,
  created: { keepSource: boolean },
): Promise<Built> {
  const rec = ctx.recorder;
  const docker = deps.docker();
  const b = p.config.build;
  switch (b.kind) {
    case 'dockerfile': {
      const tag = imageTag(p.projectName, ctx.service, p.commit, p.sourceHash);
      const contextName = `the build context "${p.config.context}"`;
      const dockerfilePath = containedRealPath({
        base: p.contextDir,
        rel: b.dockerfile,
        within: p.contextDir,
        what: `the Dockerfile "${b.dockerfile}"`,
        withinName: contextName,
      });
      const dockerfile = relative(p.contextDir, dockerfilePath);
      if (await docker.imageExists(tag)) {
        setOutcome('reused');
        rec.log('daemon', `Image ${tag} is already built for this source: reused, no rebuild`);
        deps.store.update(ctx.id, { image: tag, buildReused: true });
        return { image: tag, keepSource: false };
      }
      // Every image the build commits (each stage's steps included) carries these; the
      // tagged one also the commit's (those after every FROM would defeat the layer cache).
      const owned = {
        ...deps.extraLabels,
        [LABELS.managed]: 'true',
        // An image inherits the labels of its FROM: built on a base image, it is not one.
        [LABELS.base]: 'false',
      };
      const tagged = {
        ...owned,
        [LABELS.project]: p.projectName,
        [LABELS.service]: ctx.service,
        [LABELS.commit]: p.commit,
        ...(p.sourceHash ? { [LABELS.sourceHash]: p.sourceHash } : {}),
      };
      const everyStage = labelledDockerfile(readRegularFile(dockerfilePath, `the Dockerfile "${b.dockerfile}"`), owned);
      // One LABEL step closing the stage built; through the build API only when it cannot (a step per label).
      const closed = closingLabelled(everyStage, tagged, b.target);
      const context = {
        contextDir: p.contextDir,
        dockerfile: closed ?? everyStage,
        ignore: readContainedFile(p.contextDir, '.dockerignore', '.dockerignore', contextName),
      };
      rec.log('daemon', `Building image ${tag} from ${p.config.context}/${dockerfile}`);
      deps.store.update(ctx.id, { image: tag, buildReused: false });
      try {
        await docker.buildImage({
          context,
          tag,
          labels: closed === undefined ? tagged : {},
          buildArgs: b.args,
          ...(b.target ? { target: b.target } : {}),
          signal: ctx.signal,
          onLine: (line) => rec.log('build', line),
        });
      } catch (e) {
        if (isBuildFailure(e)) {
          throw new DeployCause(e.step ? failedStepText(e.message, e.step) : withLines(e.message, buildNoiseRemoved(e.lastLines), BUILD_TAIL));
        }
        throw e;
      }
      rec.log('daemon', `Built image ${tag}`);
      return { image: tag, keepSource: false };
    }
    case 'image': {
      if (!(await docker.imageExists(b.image))) {
        throw new DeployCause(`image ${b.image} is missing on the Docker engine (ImageNotFound): build it or load it with image/load — Branchbox never pulls`);
      }
      rec.log('daemon', `Using the existing image ${b.image}`);
      deps.store.update(ctx.id, { image: b.image, buildReused: true });
      setOutcome('reused');
      return { image: b.image, keepSource: false };
    }
    case 'command': {
      // The configuration is the deployed commit's: whoever wrote it, its command runs on
      // this computer only when the user trusted it for this repository.
      const key = { repoPath: realpathSync(ctx.repoRoot), context: normalContext(p.config.context), command: b.command };
      if (!deps.trust.isTrusted(key)) {
        throw new DeployCause(untrustedMessage(key.repoPath, [{ service: ctx.service, context: key.context, command: [...b.command] }]));
      }
      if (!(await docker.imageExists(b.runtime))) {
        throw new DeployCause(`runtime image ${b.runtime} is missing on the Docker engine (ImageNotFound): build it or load it with image/load`);
      }
      created.keepSource = true;
      rec.log('daemon', `Running the build command on the host in ${p.config.context}: ${b.command.join(' ')}`);
      try {
        await runHostCommand(b.command, p.contextDir, ctx.signal, (line) => rec.log('build', line));
      } catch (e) {
        if (isBuildFailure(e)) throw new DeployCause(withLines(e.message, e.lastLines, BUILD_TAIL));
        throw e;
      }
      deps.store.update(ctx.id, { image: b.runtime, buildReused: false });
      return { image: b.runtime, cmd: b.cmd, binds: [`${p.contextDir}:/src:ro`], keepSource: true };
    }
  }
}
