/**
 * The commands of the first steps (the Get Started walkthrough, the welcome content): Create
 * branchbox.yaml (a proposal from the repository's compose project or Dockerfiles, written
 * only where no branchbox.yaml is, then opened), Open branchbox.yaml Reference, Check Docker
 * and Daemon, and Get Started (the walkthrough itself).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CommandFactory, Ctx } from './commands';
import type { Connected } from './connection';
import { servicesFromCompose, servicesFromDockerfiles, scaffoldText, type DockerfileFound, type Scaffold } from './config-scaffold';
import { BRANCHBOX_FILE_NAMES, COMPOSE_FILE_NAMES } from '../../schemas/src/project-files';

/** The walkthrough's id in package.json `contributes.walkthroughs`. */
export const WALKTHROUGH_ID = 'gettingStarted';
/** The branchbox.yaml reference, shipped in the .vsix (.vscodeignore). */
export const CONFIG_REFERENCE = 'docs/branchbox-yaml.md';
/** How long Create branchbox.yaml waits for the daemon that reads a compose project. */
const CONNECT_WAIT_MS = 15_000;
/** Where Dockerfiles are not services of the repository. */
const NOT_SERVICES = '**/{node_modules,.git,vendor,test,tests,fixtures,examples,dist,build}/**';
const MAX_DOCKERFILES = 20;

export function onboardingCommands(): Record<string, CommandFactory> {
  return {
    'branchbox.createConfig': { what: 'Create branchbox.yaml', withoutDaemon: (ctx) => () => createConfig(ctx) },
    'branchbox.openConfigReference': { what: 'Open the branchbox.yaml reference', withoutDaemon: (ctx) => () => openConfigReference(ctx) },
    'branchbox.checkSetup': { what: 'Check Docker and daemon', withDaemon: (ctx, c) => () => checkSetup(ctx, c) },
    'branchbox.getStarted': {
      what: 'Get started',
      withoutDaemon: (ctx) => () => vscode.commands.executeCommand('workbench.action.openWalkthrough', `${ctx.extension.extension.id}#${WALKTHROUGH_ID}`, false),
    },
  };
}

// --- Create branchbox.yaml ------------------------------------------------------------------

async function createConfig(ctx: Ctx): Promise<vscode.Uri | undefined> {
  const folder = await pickFolder();
  if (!folder) return undefined;
  const root = folder.uri.fsPath;
  const existing = await firstExisting(root, BRANCHBOX_FILE_NAMES);
  if (existing) {
    void vscode.window.showInformationMessage(`${path.basename(existing)} already exists in ${folder.name}; it was left as it is.`);
    await vscode.window.showTextDocument(vscode.Uri.file(existing));
    return undefined;
  }
  const scaffold = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'Reading the repository for branchbox.yaml…' },
    () => scaffoldOf(ctx, folder),
  );
  if (!scaffold) return undefined;
  const file = path.join(root, 'branchbox.yaml');
  try {
    // `wx`: a branchbox.yaml written meanwhile is never overwritten.
    await fs.writeFile(file, scaffoldText(scaffold), { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${file} appeared meanwhile; it was left as it is.`);
    throw e;
  }
  const from = scaffold.from === 'compose' ? scaffold.composeFiles.join(', ') : `${scaffold.services.length} Dockerfile${scaffold.services.length === 1 ? '' : 's'}`;
  ctx.log.info(`Created ${file} from ${from}: ${scaffold.services.map((s) => s.name).join(', ') || 'an example service'}`);
  const uri = vscode.Uri.file(file);
  await vscode.window.showTextDocument(uri);
  void vscode.window.showInformationMessage(`Created branchbox.yaml from ${from}. Check the ports and routes, then deploy.`, 'Deploy Current Branch').then((choice) =>
    choice ? vscode.commands.executeCommand('branchbox.deploy') : undefined,
  );
  return uri;
}

async function pickFolder(): Promise<vscode.WorkspaceFolder | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) {
    void vscode.window.showInformationMessage('Open the folder of a repository first: branchbox.yaml goes at its root.');
    return undefined;
  }
  if (folders.length === 1) return folders[0];
  return vscode.window.showWorkspaceFolderPick({ placeHolder: 'The repository to write branchbox.yaml for' });
}

async function firstExisting(root: string, names: readonly string[]): Promise<string | undefined> {
  for (const name of names) {
    const file = path.join(root, name);
    if (await fs.stat(file).then(() => true, () => false)) return file;
  }
  return undefined;
}

/** From the compose project when there is one (read by the daemon), else from the Dockerfiles. */
async function scaffoldOf(ctx: Ctx, folder: vscode.WorkspaceFolder): Promise<Scaffold | undefined> {
  const root = folder.uri.fsPath;
  if (await firstExisting(root, COMPOSE_FILE_NAMES)) {
    ctx.connection.start();
    const c = ctx.connection.connected ?? (await ctx.connection.whenConnected(CONNECT_WAIT_MS));
    return composeScaffold(ctx, c, root);
  }
  const uris = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, '**/{Dockerfile,Dockerfile.*,*.Dockerfile}'), NOT_SERVICES, MAX_DOCKERFILES);
  const found: DockerfileFound[] = await Promise.all(
    uris.map(async (uri) => ({ path: path.relative(root, uri.fsPath).split(path.sep).join('/'), text: await fs.readFile(uri.fsPath, 'utf8') })),
  );
  return { from: 'dockerfiles', project: folder.name, services: servicesFromDockerfiles(found, folder.name) };
}

async function composeScaffold(ctx: Ctx, c: Connected, root: string): Promise<Scaffold | undefined> {
  let project;
  try {
    project = await c.client.request('project/load', { path: root });
  } catch (e) {
    // An invalid compose file: its problems go to the Problems panel; nothing is written.
    if (await ctx.configs.reportFailure(root, e)) return undefined;
    throw e;
  }
  const composeFiles = (project.source?.files ?? [project.file]).map((f) => path.relative(root, f).split(path.sep).join('/'));
  return { from: 'compose', composeFiles, project: project.name, services: servicesFromCompose(project) };
}

// --- The reference, the setup check ---------------------------------------------------------

async function openConfigReference(ctx: Ctx): Promise<void> {
  const uri = vscode.Uri.joinPath(ctx.extension.extensionUri, ...CONFIG_REFERENCE.split('/'));
  const present = await vscode.workspace.fs.stat(uri).then(() => true, () => false);
  if (!present) throw new Error(`the reference (${CONFIG_REFERENCE}) is not part of this installation of Branchbox.`);
  await vscode.commands.executeCommand('markdown.showPreview', uri);
}

async function checkSetup(ctx: Ctx, c: Connected): Promise<void> {
  const info = await c.client.request('system/info', {});
  const daemon = `branchboxd ${c.serverInfo.version} (pid ${c.endpoint.pid ?? '?'}) runs`;
  ctx.log.info(`Setup check: ${daemon}; Docker ${info.docker.available ? `${info.docker.version ?? ''} at ${info.docker.endpoint ?? '?'}` : `unavailable: ${info.docker.reason ?? 'no reason given'}`}`);
  if (info.docker.available) {
    void vscode.window.showInformationMessage(`Ready: ${daemon} and reaches Docker ${info.docker.version ?? ''} at ${info.docker.endpoint ?? 'the default socket'}.`.replace(/\s+/g, ' '));
    return;
  }
  const choice = await vscode.window.showWarningMessage(
    `${daemon}, but Docker is unavailable: ${info.docker.reason ?? 'no reason given'}. Start Docker (or set "branchbox.docker.host"), then check again.`,
    'Check Again',
    'Open Settings',
  );
  if (choice === 'Check Again') await vscode.commands.executeCommand('branchbox.checkSetup');
  else if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'branchbox.docker.host');
}
