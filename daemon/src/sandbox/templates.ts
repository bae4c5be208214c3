/**
 * Templates: reusable sandbox specs, either the project's own (`templates:` in
 * branchbox.yaml, read-only) or saved in the daemon (`templates` table). Where both have a
 * name, the project's wins for sandboxes of that project.
 */
import type { Project, TemplateSpec } from '../../../schemas/src/project';
import type { Template } from '../../../schemas/src/sandbox';
import { RpcError } from '../rpc/errors';
import type { Store } from '../state/store';
import { parseDuration } from '../project/units';
import { validateEnvKey, validateServiceName, validateTemplateName } from './names';

export type { Template, TemplateSpec };

interface TemplateRow {
  name: string;
  spec: string;
  created_at: string;
  updated_at: string;
}

export class TemplateStore {
  private readonly sql;

  constructor(
    store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {
    const db = store.db;
    this.sql = {
      all: db.prepare<[], TemplateRow>('SELECT * FROM templates ORDER BY name'),
      one: db.prepare<[string], TemplateRow>('SELECT * FROM templates WHERE name = ?'),
      upsert: db.prepare(
        `INSERT INTO templates (name, spec, created_at, updated_at) VALUES (@name, @spec, @at, @at)
         ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at`,
      ),
      remove: db.prepare<[string]>('DELETE FROM templates WHERE name = ?'),
    };
  }

  /** The project's templates (when given) then the saved ones, by name. */
  list(project?: Project): Template[] {
    const own = project
      ? Object.entries(project.templates).map(([name, spec]) => fromProject(name, spec, project))
      : [];
    const names = new Set(own.map((t) => t.name));
    const saved = this.sql.all
      .all()
      .map(fromRow)
      .filter((t) => !names.has(t.name));
    return [...own, ...saved].sort((a, b) => a.name.localeCompare(b.name));
  }

  find(name: string, project?: Project): Template | undefined {
    const spec = project?.templates[name];
    if (project && spec) return fromProject(name, spec, project);
    const row = this.sql.one.get(name);
    return row && fromRow(row);
  }

  /** @throws RpcError TemplateNotFound */
  require(name: string, project?: Project): Template {
    const template = this.find(name, project);
    if (!template) {
      const where = project ? `in ${project.file} nor among saved templates` : 'among saved templates';
      throw new RpcError(
        'TemplateNotFound',
        `No template "${name}" ${where}. template/list shows the available ones.`,
        { template: name },
      );
    }
    return template;
  }

  /** Saves (or replaces) a template. @throws RpcError InvalidName */
  save(name: string, spec: TemplateSpec): Template {
    validateTemplateName(name);
    checkSpec(spec);
    this.sql.upsert.run({ name, spec: JSON.stringify(spec), at: this.now().toISOString() });
    return fromRow(this.sql.one.get(name)!);
  }

  /** @throws RpcError TemplateNotFound */
  delete(name: string): void {
    if (this.sql.remove.run(name).changes === 0) {
      throw new RpcError(
        'TemplateNotFound',
        `No saved template "${name}". Templates of branchbox.yaml are changed in the file.`,
        { template: name },
      );
    }
  }
}

/** What the params schema cannot say about a spec: names of services and keys, durations, URLs. */
function checkSpec(spec: TemplateSpec): void {
  for (const [service, target] of Object.entries(spec.services)) {
    validateServiceName(service);
    if (!target.branch && !target.commit) {
      throw new RpcError('InvalidParams', `Template service "${service}" needs a branch or a commit.`, { service });
    }
  }
  for (const [service, route] of Object.entries(spec.routes ?? {})) {
    validateServiceName(service);
    if (route.kind === 'url' && !route.url)
      throw new RpcError('InvalidParams', `The route of "${service}" is a url route without a url.`, { service });
  }
  for (const key of Object.keys(spec.env ?? {})) validateEnvKey(key);
  if (spec.ttl) {
    try {
      parseDuration(spec.ttl);
    } catch (e) {
      throw new RpcError('InvalidParams', `Template ttl: ${(e as Error).message}`);
    }
  }
  if (spec.ttlFrom && !spec.ttl) throw new RpcError('InvalidParams', 'Template ttlFrom needs a ttl.');
}

function fromProject(name: string, spec: TemplateSpec, project: Project): Template {
  return { name, source: 'project', project: project.name, spec };
}

function fromRow(row: TemplateRow): Template {
  return {
    name: row.name,
    source: 'saved',
    spec: JSON.parse(row.spec) as TemplateSpec,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
