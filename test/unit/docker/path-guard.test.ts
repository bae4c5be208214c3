/**
 * The grammar of Docker ids and names in params (schemas/src/docker-refs.ts) and the guard on
 * the modem's `dial` (docker/dockerode/path-guard.ts) that refuses any path the engine would
 * redirect — whatever way an id arrived — instead of letting docker-modem follow the redirect
 * on a request without an error handler.
 */
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { enginePathProblem, guardEnginePaths } from '../../../daemon/src/docker/dockerode/path-guard';
import { validateParams } from '../../../daemon/src/rpc/validation';
import { CONTAINER_REF_PATTERN, IMAGE_REF_PATTERN } from '../../../schemas/src/docker-refs';

describe('Docker id grammar', () => {
  const container = new RegExp(CONTAINER_REF_PATTERN);
  const image = new RegExp(IMAGE_REF_PATTERN);

  it.each(['web', 'sandbox-shop-account', '/web', 'a1b2c3d4e5f6', 'f'.repeat(64), 'x_y.z-1', 'a..'])(
    'container %j is a name or id',
    (ref) => expect(container.test(ref)).toBe(true),
  );
  it.each(['..', '.', '/', '//x', 'a/b', '-x', '.x', '', 'x y', 'x?y', 'x%2e', 'é'])('container %j is not', (ref) =>
    expect(container.test(ref)).toBe(false),
  );

  it.each([
    'alpine',
    'alpine:3.19',
    'library/alpine:3',
    'localhost:5000/team/app:v1.2-rc',
    'registry.example.com/a__b/c---d',
    '[::1]:5000/x:1',
    `nginx@sha256:${'a'.repeat(64)}`,
    `sha256:${'0123456789abcdef'.repeat(4)}`,
    'a1b2c3',
  ])('image %j is a reference or an id', (ref) => expect(image.test(ref)).toBe(true));
  it.each(['..', '../x', 'a/../b', 'Alpine', 'a//b', '/a', 'a/', 'x:', `x:${'t'.repeat(129)}`, 'x@sha256:zz', 'a..b', 'a b'])(
    'image %j is not',
    (ref) => expect(image.test(ref)).toBe(false),
  );

  it('is checked by the params schemas of the container and image methods', () => {
    expect(validateParams('container/inspect', { id: '..' })).toEqual([
      { path: '/id', message: expect.stringMatching(/^must be a container name \(letters, digits/) },
    ]);
    expect(validateParams('stats/history', { id: '/web' })).toEqual([]);
    expect(validateParams('image/remove', { image: '../x' })).toHaveLength(1);
    expect(validateParams('image/remove', { image: 'local/app:1' })).toEqual([]);
  });
});

describe('the engine path guard', () => {
  it.each([
    ['/containers/../json', 'a "." or ".." segment'],
    ['/containers/./json', 'a "." or ".." segment'],
    ['/containers//x/json', 'an empty segment'],
    ['/images/a/../../b/json', 'a "." or ".." segment'],
    ['/containers/%2e%2e/json', 'characters no Docker id or name has'],
    ['/containers/a b/json', 'characters no Docker id or name has'],
  ])('refuses %s (%s)', (path, problem) => {
    expect(enginePathProblem(path)).toContain(problem);
  });

  it.each([
    '/containers/json?',
    '/containers/web/json?',
    '/images/localhost:5000/team/app:1/json',
    `/images/nginx@sha256:${'a'.repeat(64)}/json`,
    '/exec/0123abcd/start',
    '/_ping',
    '/containers/x/logs?follow=1&since=../..',
  ])('lets %s through', (path) => {
    expect(enginePathProblem(path)).toBeUndefined();
  });

  it('answers InvalidName without dialling; other paths are dialled as before', async () => {
    const docker = guardEnginePaths(new Docker({ socketPath: '/nonexistent/docker.sock' }));
    await expect(docker.getContainer('..').inspect()).rejects.toMatchObject({
      errorName: 'InvalidName',
      message: expect.stringContaining('"/containers/../json?"'),
    });
    await expect(docker.getImage('a/../../b').inspect()).rejects.toMatchObject({ errorName: 'InvalidName' });
    // A safe path reaches the socket (absent here): the failure is the connection's.
    await expect(docker.getContainer('web').inspect()).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
