/**
 * Several compose files merged in order, as `docker compose -f a -f b` merges them: mappings
 * merge key by key, a later file's scalar wins, `command`, `entrypoint` and `healthcheck.test`
 * are replaced whole, `volumes` merge by mount target, other lists (ports, expose, tmpfs,
 * env_file, …) are appended without duplicates. `environment`, `labels`, `build.args` and
 * `depends_on` are read as mappings first (their list forms become mappings), and a `build`
 * string becomes `{context}`. Every value of the result remembers which file and field it came
 * from (`Provenance`), so that problems found later point into the right file.
 */

type Data = Record<string, unknown>;

/** Where a merged value was written: the index of its file and its path there. */
export interface Origin {
  readonly source: number;
  readonly path: readonly string[];
}

const sep = '\u0000';

export class Provenance {
  private readonly origins = new Map<string, Origin>();

  set(path: readonly string[], origin: Origin): void {
    this.origins.set(path.join(sep), origin);
  }

  /** Forgets what was recorded at `path` and under it. */
  clear(path: readonly string[]): void {
    const key = path.join(sep);
    for (const k of [...this.origins.keys()]) if (k === key || k.startsWith(key + sep)) this.origins.delete(k);
  }

  /** The origin of `path`, else of its nearest ancestor with one (the rest of the path appended). */
  find(path: readonly string[]): Origin | undefined {
    for (let n = path.length; n >= 0; n--) {
      const origin = this.origins.get(path.slice(0, n).join(sep));
      if (origin) return { source: origin.source, path: [...origin.path, ...path.slice(n)] };
    }
    return undefined;
  }

  /** Records `value` and everything under it as written at `origin`. */
  record(value: unknown, path: readonly string[], origin: Origin): void {
    this.set(path, origin);
    if (Array.isArray(value)) value.forEach((v, i) => this.record(v, [...path, String(i)], { source: origin.source, path: [...origin.path, String(i)] }));
    else if (isMap(value)) for (const [k, v] of Object.entries(value)) this.record(v, [...path, k], { source: origin.source, path: [...origin.path, k] });
  }
}

const isMap = (value: unknown): value is Data => value !== null && typeof value === 'object' && !Array.isArray(value);

// health and security: x-branchbox's, replaced whole by branchbox.yaml's
const REPLACED = new Set(['command', 'entrypoint', 'test', 'health', 'security']);
const AS_MAP = new Set(['environment', 'labels', 'args', 'depends_on']);

/**
 * The merge of the documents (after interpolation and validation, in order); `origins` tells
 * where each value of the result was written.
 */
export function mergeComposeFiles(documents: readonly Data[]): { data: Data; origins: Provenance } {
  const origins = new Provenance();
  const data: Data = {};
  documents.forEach((doc, source) => {
    const prepared = prepare(doc);
    mergeMap(data, prepared.data, [], source, prepared.where, origins);
  });
  return { data, origins };
}

/** A document with its list forms read as mappings; `where` maps the new paths to the document's own. */
function prepare(doc: Data): { data: Data; where: Map<string, readonly string[]> } {
  const where = new Map<string, readonly string[]>();
  const data = structuredClone(doc);
  for (const [name, service] of Object.entries(isMap(data.services) ? data.services : {})) {
    if (!isMap(service)) continue;
    const at = ['services', name];
    if (typeof service.build === 'string') {
      service.build = { context: service.build };
      where.set([...at, 'build', 'context'].join(sep), [...at, 'build']);
    }
    for (const [key, holder, field] of [
      ['environment', service, [...at, 'environment']],
      ['labels', service, [...at, 'labels']],
      ['depends_on', service, [...at, 'depends_on']],
      ['args', isMap(service.build) ? service.build : undefined, [...at, 'build', 'args']],
    ] as const) {
      if (!holder || !Array.isArray(holder[key])) continue;
      const map: Data = {};
      (holder[key] as unknown[]).forEach((item, i) => {
        if (typeof item !== 'string') return;
        let k: string;
        let v: unknown;
        if (key === 'depends_on') {
          k = item;
          v = { condition: 'service_started' };
        } else {
          const eq = item.indexOf('=');
          k = eq < 0 ? item : item.slice(0, eq);
          v = eq < 0 ? null : item.slice(eq + 1);
        }
        map[k] = v;
        where.set([...field, k].join(sep), [...field, String(i)]);
      });
      holder[key] = map;
    }
  }
  return { data, where };
}

function originOf(path: readonly string[], source: number, where: Map<string, readonly string[]>): Origin {
  for (let n = path.length; n >= 0; n--) {
    const mapped = where.get(path.slice(0, n).join(sep));
    if (mapped) return { source, path: [...mapped, ...path.slice(n)] };
  }
  return { source, path };
}

function put(target: Data, key: string, value: unknown, path: string[], source: number, where: Map<string, readonly string[]>, origins: Provenance): void {
  target[key] = structuredClone(value);
  origins.clear(path);
  recordFrom(value, path, source, where, origins);
}

function recordFrom(value: unknown, path: string[], source: number, where: Map<string, readonly string[]>, origins: Provenance): void {
  origins.set(path, originOf(path, source, where));
  if (Array.isArray(value)) value.forEach((v, i) => recordFrom(v, [...path, String(i)], source, where, origins));
  else if (isMap(value)) for (const [k, v] of Object.entries(value)) recordFrom(v, [...path, k], source, where, origins);
}

function mergeMap(target: Data, over: Data, path: string[], source: number, where: Map<string, readonly string[]>, origins: Provenance): void {
  for (const [key, value] of Object.entries(over)) {
    const at = [...path, key];
    const existing = target[key];
    const inService = path.length >= 2 && path[0] === 'services';
    if (existing === undefined || REPLACED.has(key) || (AS_MAP.has(key) && !isMap(value))) {
      put(target, key, value, at, source, where, origins);
    } else if (isMap(existing) && isMap(value)) {
      mergeMap(existing, value, at, source, where, origins);
    } else if (Array.isArray(existing) && Array.isArray(value)) {
      if (inService && key === 'volumes' && path.length === 2) mergeMounts(existing, value, at, source, where, origins);
      else appendUnique(existing, value, at, source, where, origins);
    } else {
      put(target, key, value, at, source, where, origins);
    }
  }
}

function appendUnique(target: unknown[], items: unknown[], path: string[], source: number, where: Map<string, readonly string[]>, origins: Provenance): void {
  const seen = new Set(target.map((v) => JSON.stringify(v)));
  items.forEach((item, i) => {
    const key = JSON.stringify(item);
    if (seen.has(key)) return;
    seen.add(key);
    const at = [...path, String(target.length)];
    target.push(structuredClone(item));
    origins.clear(at);
    origins.record(item, at, originOf([...path, String(i)], source, where));
  });
}

/** The mount target of a `volumes` entry (short or long syntax). */
export function mountTarget(entry: unknown): string | undefined {
  if (isMap(entry)) return typeof entry.target === 'string' ? entry.target : undefined;
  if (typeof entry !== 'string') return undefined;
  const parts = entry.split(':');
  return parts.length === 1 ? parts[0] : parts[1];
}

function mergeMounts(target: unknown[], items: unknown[], path: string[], source: number, where: Map<string, readonly string[]>, origins: Provenance): void {
  items.forEach((item, i) => {
    const t = mountTarget(item);
    const index = t === undefined ? -1 : target.findIndex((e) => mountTarget(e) === t);
    const slot = index < 0 ? target.length : index;
    const at = [...path, String(slot)];
    target[slot] = structuredClone(item);
    origins.clear(at);
    origins.record(item, at, originOf([...path, String(i)], source, where));
  });
}
