/**
 * Several compose files merge as `docker compose -f a -f b`: mappings key by key, later
 * scalars win, command/entrypoint/healthcheck.test replaced, volumes by target, ports and
 * other lists appended without duplicates; a problem in a merged value points into the file
 * it came from.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../../../daemon/src/project/load';
import { composeRepo, problemsOf, removeRepos } from './compose-repo';

afterAll(removeRepos);

const BASE = `services:
  api:
    image: api:1
    command: ["node", "a.js"]
    environment:
      A: base
      B: base
    labels: [tier=base, keep=yes]
    ports: ["8080:80"]
    expose: ["9000"]
    volumes:
      - data:/data
      - ./conf:/conf:ro
    healthcheck:
      test: ["CMD", "true"]
      interval: 5s
    depends_on: [db]
  db:
    image: db:1
volumes:
  data:
`;

const OVERRIDE = `services:
  api:
    image: api:2
    command: node b.js
    environment: [B=override, C=override]
    labels:
      tier: override
    ports: ["8080:80", "9229:9229"]
    volumes:
      - other:/data
    healthcheck:
      test: ["CMD", "false"]
    depends_on:
      db:
        condition: service_healthy
volumes:
  other:
`;

describe('merging compose files', () => {
  it('merges as docker compose does', () => {
    const dir = composeRepo({ 'compose.yaml': BASE, 'compose.override.yaml': OVERRIDE });
    const api = loadProject(dir).services.api!;
    expect(api.build).toEqual({ kind: 'image', image: 'api:2' });
    expect(api.command).toEqual(['node', 'b.js']);
    expect(api.env).toEqual({ A: 'base', B: 'override', C: 'override' });
    expect(api.labels).toEqual({ tier: 'override', keep: 'yes' });
    expect(api.ports).toEqual([
      { container: 80, protocol: 'tcp', published: 8080 },
      { container: 9229, protocol: 'tcp', published: 9229 },
    ]);
    expect(api.expose).toEqual([9000]);
    expect(api.volumes).toEqual([
      { type: 'volume', source: 'other', target: '/data', readOnly: false },
      { type: 'bind', source: 'conf', target: '/conf', readOnly: true },
    ]);
    expect(api.healthcheck).toEqual({ test: ['CMD', 'false'], intervalMs: 5000 });
    expect(api.dependsOn).toEqual({ db: { condition: 'service_healthy', required: true, restart: false } });
  });

  it('points a problem of a merged value into the file that wrote it', () => {
    const dir = composeRepo({
      'compose.yaml': BASE,
      'compose.override.yaml': 'services:\n  api:\n    ports:\n      - "8080:80"\n      - "70000:80"\n    restart: sometimes\n',
    });
    expect(problemsOf(dir)).toEqual([
      'compose.override.yaml:5:9 services.api.ports.1: host port 70000 is not between 1 and 65535',
      'compose.override.yaml:6:14 services.api.restart: "sometimes" is not a restart policy: no, always, on-failure[:retries] or unless-stopped',
    ]);
  });

  it('points a problem of an environment list entry at its line', () => {
    const dir = composeRepo({
      'compose.yaml': 'services:\n  api:\n    image: a\n    labels:\n      - ok=1\n      - branchbox.owner=me\n',
    });
    expect(problemsOf(dir)).toEqual([
      'compose.yaml:6:9 services.api.labels.branchbox.owner: "branchbox.owner": labels starting with branchbox. are Branchbox\'s own',
    ]);
  });
});
