/**
 * A compose project is kept by the content of every file it was read from: a change to any
 * compose file, to .env or to an env_file is read anew; the same content is not parsed again;
 * every caller gets its own copy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../../../daemon/src/project/load';
import { composeRepo, removeRepos } from './compose-repo';

afterAll(removeRepos);

describe('loading a compose project again', () => {
  const dir = composeRepo({
    'compose.yaml': 'services:\n  web:\n    image: app:${TAG}\n    env_file: web.env\n',
    'compose.override.yaml': 'services:\n  web:\n    environment: { B: "1" }\n',
    '.env': 'TAG=1\n',
    'web.env': 'A=1\n',
  });
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);

  it('reads anew what any file it read changes: compose, override, .env, env_file', () => {
    expect(loadProject(dir).services.web).toMatchObject({ build: { image: 'app:1' }, env: { A: '1', B: '1' } });
    write('web.env', 'A=2\n');
    expect(loadProject(dir).services.web!.env).toEqual({ A: '2', B: '1' });
    write('.env', 'TAG=2\n');
    expect(loadProject(dir).services.web!.build).toEqual({ kind: 'image', image: 'app:2' });
    write('compose.override.yaml', 'services:\n  web:\n    environment: { B: "2" }\n');
    expect(loadProject(dir).services.web!.env).toEqual({ A: '2', B: '2' });
    write('compose.yaml', 'services:\n  web:\n    image: other:${TAG}\n    env_file: web.env\n');
    expect(loadProject(dir).services.web!.build).toEqual({ kind: 'image', image: 'other:2' });
  });

  it('reads anew when the environment changes', () => {
    const env = composeRepo({ 'compose.yaml': 'services:\n  web:\n    image: app:${BB_CACHE_TEST:-none}\n' });
    expect(loadProject(env).services.web!.build).toEqual({ kind: 'image', image: 'app:none' });
    process.env.BB_CACHE_TEST = 'set';
    try {
      expect(loadProject(env).services.web!.build).toEqual({ kind: 'image', image: 'app:set' });
    } finally {
      delete process.env.BB_CACHE_TEST;
    }
  });

  it('gives every caller its own copy', () => {
    const first = loadProject(dir);
    first.services.web!.env.A = 'changed';
    delete first.services.web;
    expect(loadProject(dir).services.web!.env.A).toBe('2');
  });
});
