/**
 * The `branchbox.*` settings, read into plain values, and the daemon host they describe.
 * Settings that run programs or pick the daemon (`daemon.nodePath`, `daemon.address`,
 * `stateDir`...) are machine-scoped in the manifest: a workspace cannot set them.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LocalDaemonHost, RemoteDaemonHost, RUNTIME_FILE_NAME, resolveStateDir, type DaemonHost } from './bootstrap';

export interface Settings {
  /** A daemon elsewhere (ws URL); empty: the local daemon of `stateDir`. */
  readonly address: string | undefined;
  readonly tokenFile: string | undefined;
  readonly autoStart: boolean;
  readonly nodePath: string;
  /** Resolved: the setting, else BRANCHBOX_STATE_DIR, else the XDG state directory. */
  readonly stateDir: string;
  readonly dockerHost: string | undefined;
  readonly defaultSandbox: string | undefined;
}

const nonEmpty = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const c = vscode.workspace.getConfiguration('branchbox');
  return {
    address: nonEmpty(c.get<string>('daemon.address')),
    tokenFile: nonEmpty(c.get<string>('daemon.tokenFile')),
    autoStart: c.get<boolean>('daemon.autoStart', true),
    nodePath: nonEmpty(c.get<string>('daemon.nodePath')) ?? 'node',
    stateDir: resolveStateDir(c.get<string>('stateDir'), env),
    dockerHost: nonEmpty(c.get<string>('docker.host')),
    defaultSandbox: nonEmpty(c.get<string>('defaultSandbox')),
  };
}

/** Where the daemon is: the address given, or the state directory's runtime file. */
export function daemonHostFor(settings: Settings, extensionPath: string): DaemonHost {
  if (settings.address) {
    return new RemoteDaemonHost(settings.address, settings.tokenFile ?? path.join(settings.stateDir, RUNTIME_FILE_NAME));
  }
  return new LocalDaemonHost({
    stateDir: settings.stateDir,
    autoStart: settings.autoStart,
    nodePath: settings.nodePath,
    daemonScript: path.join(extensionPath, 'dist', 'branchboxd.js'),
    dockerHost: settings.dockerHost,
  });
}

/** Which settings changed in a way that needs a new connection, or a restarted daemon. */
export function settingsImpact(e: vscode.ConfigurationChangeEvent): 'reconnect' | 'restart' | undefined {
  if (['branchbox.daemon', 'branchbox.stateDir'].some((s) => e.affectsConfiguration(s))) return 'reconnect';
  if (e.affectsConfiguration('branchbox.docker.host')) return 'restart';
  return undefined;
}
