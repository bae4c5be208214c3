/**
 * A branch's `build.command` runs on this computer only once the user trusted that exact
 * command for the repository. The command of the fixture branch appends a line to a marker
 * file outside the repository each time it runs: the marker proves what ran and what did not.
 *
 * Through the protocol (deploy/start answers Untrusted and queues nothing; trust/grant,
 * trust/list, trust/revoke; a changed command in a later commit is untrusted again; the build
 * stage refuses when deploy/start is bypassed — a clone), and through the CLI
 * (`deploy --trust-command`, `trust ls`, `trust rm`).
 */
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure } from '../../helpers/daemon';
import { runCli } from '../cli/cli-process';
import { useLifecycleDaemon } from '../lifecycle/helpers';
import { deployFinal } from './deploy-steps';

const t = useLifecycleDaemon('bbhost', 'host-command-test');
let markerDir: string;
let marker: string;
let repoReal: string;
const APP = "require('http').createServer((q, s) => s.end('built on the host')).listen(8080);";

/** How many times a build command ran (lines of the marker file). */
const runs = () => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean) : []);

beforeAll(() => {
  markerDir = realpathSync(mkdtempSync(join(tmpdir(), 'bb-marker-')));
  marker = join(markerDir, 'ran.txt');
  repoReal = realpathSync(t.repo.root);
  const yaml = readFileSync(join(t.repo.root, 'branchbox.yaml'), 'utf8');
  const withTool = (command: string) =>
    yaml.replace('services:\n', `services:\n  tool:\n    context: services/tool\n    build: { command: "${command}", runtime: branchbox/node:20, cmd: ["node", "/src/app.js"] }\n    port: 8080\n`);
  t.repo.git('checkout', '--quiet', '-b', 'host-tool', 'main');
  try {
    t.repo.write(
      'services/tool/build.js',
      `const fs = require('fs');\nfs.appendFileSync(${JSON.stringify(marker)}, process.argv.slice(2).join(' ') + 'ran\\n');\nfs.writeFileSync('app.js', ${JSON.stringify(APP)});\n`,
    );
    t.repo.write('branchbox.yaml', withTool('node build.js'));
    t.repo.commitAll('tool: built on the host');
    t.repo.git('checkout', '--quiet', '-b', 'host-tool-changed', 'host-tool');
    t.repo.write('branchbox.yaml', withTool('node build.js --changed'));
    t.repo.commitAll('tool: another command');
  } finally {
    t.repo.checkout('main');
  }
});
afterAll(() => rmSync(markerDir, { recursive: true, force: true }));

async function sandbox(tag: string): Promise<string> {
  const name = `h${t.suffix}-${tag}`;
  t.created.add(name);
  await t.client.request('sandbox/create', { name, repoPath: t.repo.root });
  return name;
}

const TOOL = { service: 'tool', context: 'services/tool', command: ['node', 'build.js'] };

describe('host build commands', () => {
  it('are refused until trusted, run once trusted, untrusted again when the command changes, and after a revoke', async () => {
    const name = await sandbox('trust');
    const start = (ref: string) => t.client.request('deploy/start', { repoPath: t.repo.root, sandbox: name, ref, services: ['tool'] });

    const refused = await failure(start('host-tool'));
    expect(refused.code).toBe(1404);
    expect(refused.errorName).toBe('Untrusted');
    expect(refused.data).toEqual({ name: 'Untrusted', repoPath: repoReal, commands: [TOOL] });
    expect(refused.message).toContain('service tool runs `node build.js` in services/tool');
    expect(refused.message).toContain('trust it (branchbox deploy --trust-command, the Trust prompt in VS Code, or trust/grant)');
    expect((await t.client.request('deploy/list', { sandbox: name })).deployments).toEqual([]);
    expect(runs()).toEqual([]);

    const granted = await t.client.request('trust/grant', { repoPath: join(t.repo.root, 'services'), context: 'services/tool', command: ['node', 'build.js'] });
    expect(granted).toMatchObject({ repoPath: repoReal, context: TOOL.context, command: TOOL.command, grantedBy: expect.stringMatching(/^host-command-test \(.+\)$/) });
    expect((await t.client.request('trust/list', { repoPath: t.repo.root })).commands).toEqual([granted]);
    const audited = await t.client.request('audit/list', { method: 'trust/grant' });
    expect(audited.entries[0]).toMatchObject({ method: 'trust/grant', client: 'host-command-test', outcome: 'ok' });

    const [running] = await deployFinal(t.client, { repoPath: t.repo.root, sandbox: name, ref: 'host-tool', services: ['tool'] });
    expect(running!.status, running!.diagnosis).toBe('running');
    expect(await (await fetch(running!.url!)).text()).toBe('built on the host');
    expect(runs()).toEqual(['ran']);

    // A later commit with another command: untrusted again.
    const changed = await failure(start('host-tool-changed'));
    expect(changed.errorName).toBe('Untrusted');
    expect(changed.data).toMatchObject({ commands: [{ ...TOOL, command: ['node', 'build.js', '--changed'] }] });

    expect(await t.client.request('trust/revoke', { id: granted.id })).toEqual({ revoked: [granted] });
    expect((await failure(start('host-tool'))).errorName).toBe('Untrusted');
    expect(runs()).toEqual(['ran']);
    expect((await failure(t.client.request('trust/revoke', {}))).errorName).toBe('InvalidParams');
  });

  it('are refused by the build stage, before anything runs, when deploy/start is not the way in (a clone)', async () => {
    const name = await sandbox('src');
    const granted = await t.client.request('trust/grant', { repoPath: t.repo.root, context: 'services/tool', command: ['node', 'build.js'] });
    const [first] = await deployFinal(t.client, { repoPath: t.repo.root, sandbox: name, ref: 'host-tool', services: ['tool'] });
    expect(first!.status, first!.diagnosis).toBe('running');
    const before = runs().length;
    await t.client.request('trust/revoke', { repoPath: t.repo.root });
    expect((await t.client.request('trust/list', {})).commands.filter((c) => c.id === granted.id)).toEqual([]);

    const copy = `h${t.suffix}-copy`;
    t.created.add(copy);
    // Clone deploys the same commits without deploy/start (and waits for them by default).
    const cloned = await t.client.request('sandbox/clone', { name, newName: copy });
    const tool = cloned.deployments.find((d) => d.service === 'tool');
    expect(tool?.status).toBe('failed');
    expect(tool?.diagnosis).toMatch(/^build failed: .* asks to run a command on this computer that you have not trusted: service tool runs `node build.js` in services\/tool\. Nothing ran\./);
    expect(runs().length).toBe(before);
  });
  it('the CLI: deploy refuses and says how, --trust-command shows and trusts, trust ls and trust rm', async () => {
    const name = await sandbox('cli');
    const cli = (args: string[]) => runCli(args, { stateDir: t.daemon.stateDir, cwd: t.repo.root });
    const before = runs().length;

    const refused = await cli(['deploy', '--sandbox', name, '--ref', 'host-tool', '--service', 'tool']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('branchbox: Untrusted: ');
    expect(refused.stderr).toContain('branchbox deploy --trust-command');
    expect(runs().length).toBe(before);

    const trusted = await cli(['deploy', '--sandbox', name, '--ref', 'host-tool', '--service', 'tool', '--trust-command']);
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(trusted.stdout).toContain(`Trusting this command to run on this computer for ${repoReal}:`);
    expect(trusted.stdout).toContain('tool: node build.js   (in services/tool)');
    expect(runs().length).toBe(before + 1);

    const listed = await cli(['trust', 'ls', '-o', 'json']);
    const { commands } = JSON.parse(listed.stdout) as { commands: { id: number; repoPath: string; command: string[] }[] };
    const mine = commands.filter((c) => c.repoPath === repoReal);
    expect(mine).toEqual([expect.objectContaining({ command: ['node', 'build.js'] })]);
    expect((await cli(['trust', 'ls'])).stdout).toMatch(/ID\s+REPOSITORY\s+CONTEXT\s+COMMAND\s+TRUSTED/);

    const removed = await cli(['trust', 'rm', String(mine[0]!.id)]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`Revoked ${mine[0]!.id}: node build.js in services/tool of ${repoReal}`);
    const again = await cli(['trust', 'rm', String(mine[0]!.id)]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`branchbox: NotTrusted: no trusted command has ID ${mine[0]!.id}`);
  });
});
