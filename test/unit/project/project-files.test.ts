/**
 * The project file names the editor checks and watches are the ones the daemon reads: each
 * base name, alone in a folder (an override beside a base file), is what `project/load` finds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findComposeFiles } from '../../../daemon/src/project/compose/discover';
import { projectFilePath } from '../../../daemon/src/project/load';
import {
  BRANCHBOX_FILE_NAMES,
  COMPOSE_FILE_NAMES,
  COMPOSE_OVERRIDE_NAMES,
  isProjectFile,
  PROJECT_FILE_GLOB,
  PROJECT_FILE_NAMES,
} from '../../../schemas/src/project-files';

function inFolder(names: readonly string[], fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'bb-project-files-'));
  try {
    for (const name of names) writeFileSync(join(dir, name), 'services: {}\n');
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('project files', () => {
  it('are branchbox.yaml and the compose files with their overrides, by base name', () => {
    for (const f of ['branchbox.yaml', 'branchbox.yml', 'compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml', 'compose.override.yaml', 'docker-compose.override.yml', '/r/x/compose.yaml', 'C:\\r\\branchbox.yaml']) {
      expect(isProjectFile(f), f).toBe(true);
    }
    for (const f of ['branchbox.json', 'compose.yaml.bak', 'my-compose.yaml', 'branchbox.override.yaml', 'values.yaml', '/r/compose.yaml/x.txt']) {
      expect(isProjectFile(f), f).toBe(false);
    }
    expect(PROJECT_FILE_GLOB).toBe(`**/{${PROJECT_FILE_NAMES.join(',')}}`);
  });

  it('are each what the daemon reads in a folder', () => {
    for (const name of [...BRANCHBOX_FILE_NAMES, ...COMPOSE_FILE_NAMES]) {
      inFolder([name], (dir) => expect(projectFilePath(dir), name).toBe(join(dir, name)));
    }
    for (const name of COMPOSE_OVERRIDE_NAMES) {
      inFolder(['compose.yaml', name], (dir) => expect(findComposeFiles(dir), name).toEqual([join(dir, 'compose.yaml'), join(dir, name)]));
    }
    // branchbox.yaml comes first, and compose.yaml before docker-compose.yml, as docker compose reads them.
    inFolder(['docker-compose.yml', 'compose.yaml', 'branchbox.yaml'], (dir) => expect(projectFilePath(dir)).toBe(join(dir, 'branchbox.yaml')));
    inFolder(['docker-compose.yml', 'compose.yaml'], (dir) => expect(projectFilePath(dir)).toBe(join(dir, 'compose.yaml')));
  });
});
