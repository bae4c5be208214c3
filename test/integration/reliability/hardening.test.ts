/**
 * Every sandbox container is hardened by default: no-new-privileges, a pids limit, every
 * capability dropped; it runs as its image's user (a root one is warned about in the
 * deployment log); branchbox.yaml's `security:` overrides it per service. Checked with
 * `docker inspect` of the deployed containers and from inside them (the capabilities a
 * process has, and a fork bomb stopped by the pids limit).
 */
import { PassThrough } from 'node:stream';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { docker } from '../../helpers/docker-fixtures';
import { useLifecycleDaemon } from '../lifecycle/helpers';
import { deployFinal } from './deploy-steps';

const t = useLifecycleDaemon('bbhard', 'hardening-test');

async function sandbox(tag: string): Promise<string> {
  const name = `k${t.suffix}-${tag}`;
  t.created.add(name);
  await t.client.request('sandbox/create', { name, repoPath: t.repo.root });
  return name;
}

/** Runs `cmd` in the running container (as its user) and answers its output. */
async function exec(containerId: string, cmd: string[]): Promise<string> {
  const e = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await e.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  docker.modem.demuxStream(stream, out, out);
  await new Promise((resolve) => stream.on('end', resolve));
  return text;
}

/** Starts up to 1000 `sleep` processes at once; answers how many the kernel let start. */
const FORK_BOMB = [
  'node',
  '-e',
  "const { spawn } = require('child_process'); const kids = []; let refused = 0;" +
    "for (let i = 0; i < 1000; i++) { try { const c = spawn('sleep', ['30']); c.on('error', () => undefined); if (c.pid) kids.push(c); else refused++; } catch { refused++; } }" +
    "setTimeout(() => { console.log(JSON.stringify({ started: kids.length, refused })); kids.forEach((k) => k.kill()); }, 300);",
];

const capEff = (status: string) => /CapEff:\s*([0-9a-f]+)/.exec(status)?.[1];

describe('sandbox containers', () => {
  it('run with no-new-privileges, a pids limit and no capabilities, as the image user', async () => {
    const [final] = await deployFinal(t.client, { repoPath: t.repo.root, sandbox: await sandbox('def'), services: ['account'] });
    expect(final!.status, final!.diagnosis).toBe('running');
    const info = await docker.getContainer(final!.containerId!).inspect();
    expect(info.HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
    expect(info.HostConfig.PidsLimit).toBe(512);
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.HostConfig.CapAdd ?? []).toEqual([]);
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.Config.User).toBe('1000'); // the fixture image's USER, not overridden

    expect(capEff(await exec(final!.containerId!, ['cat', '/proc/self/status']))).toBe('0000000000000000');
    const bomb = JSON.parse(await exec(final!.containerId!, FORK_BOMB)) as { started: number; refused: number };
    expect(bomb.started).toBeLessThan(512);
    expect(bomb.refused).toBeGreaterThan(488);

    const { lines } = await t.client.request('deploy/logs', { id: final!.id });
    expect(lines.some((l) => /runs as root/.test(l.line))).toBe(false);
  });

  it('take per-service overrides from branchbox.yaml, and a root image is warned about in the deploy log', async () => {
    t.repo.git('checkout', '--quiet', '-b', 'hardening-override', 'main');
    try {
      t.repo.write('services/account/Dockerfile.root', 'FROM branchbox/node:20\nCOPY server.js /app/server.js\nCMD ["node", "/app/server.js"]\n');
      const file = join(t.repo.root, 'branchbox.yaml');
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace(
          'services:\n',
          'services:\n' +
            '  rooted:\n    context: services/account\n    build: { dockerfile: Dockerfile.root }\n    port: 8080\n' +
            '    security: { capAdd: [CAP_CHOWN, net_raw], pidsLimit: 64 }\n' +
            '  loose:\n    context: services/account\n    port: 8080\n    security: { noNewPrivileges: false, user: "4321:4321" }\n',
        ),
      );
      t.repo.commitAll('hardening overrides');
    } finally {
      t.repo.checkout('main');
    }
    const [rooted, loose] = await deployFinal(t.client, { repoPath: t.repo.root, sandbox: await sandbox('ovr'), ref: 'hardening-override', services: ['rooted', 'loose'] });
    expect(rooted!.status, rooted!.diagnosis).toBe('running');
    expect(loose!.status, loose!.diagnosis).toBe('running');

    const r = await docker.getContainer(rooted!.containerId!).inspect();
    expect(r.HostConfig).toMatchObject({ SecurityOpt: ['no-new-privileges'], PidsLimit: 64, CapDrop: ['ALL'], CapAdd: ['CHOWN', 'NET_RAW'] });
    expect(r.Config.User).toBe('');
    // CAP_CHOWN is bit 0, CAP_NET_RAW bit 13.
    expect(capEff(await exec(rooted!.containerId!, ['cat', '/proc/self/status']))).toBe((1n | (1n << 13n)).toString(16).padStart(16, '0'));
    const bomb = JSON.parse(await exec(rooted!.containerId!, FORK_BOMB)) as { started: number };
    expect(bomb.started).toBeLessThan(64);
    const { lines } = await t.client.request('deploy/logs', { id: rooted!.id });
    expect(lines.map((l) => l.line)).toContain(
      'Warning: service rooted runs as root in its container (the image sets no USER): set USER in the Dockerfile or security.user in branchbox.yaml; ' +
        'it has only the capabilities security.capAdd gives back (CHOWN, NET_RAW)',
    );

    const l = await docker.getContainer(loose!.containerId!).inspect();
    expect(l.HostConfig.SecurityOpt ?? []).toEqual([]);
    expect(l.HostConfig).toMatchObject({ PidsLimit: 512, CapDrop: ['ALL'] });
    expect(l.Config.User).toBe('4321:4321');
    expect(await exec(loose!.containerId!, ['id', '-u'])).toBe('4321\n');
  });
});
