/**
 * The limits of branchbox.yaml (PROJECT_FILE_LIMITS in schemas/src/limits.ts), each applied
 * where it costs least: the size before the file is read (load.ts), alias expansion while the
 * YAML becomes data (the yaml library's `maxAliasCount`; this file finds the alias to blame),
 * and the entry counts on that data, before schema validation and normalization.
 */
import { isAlias, isCollection, isPair, isScalar, visit, type Alias, type Document, type Node } from 'yaml';
import { PROJECT_FILE_LIMITS as LIMITS } from '../../../schemas/src/limits';
import type { PathProblem } from './normalize';

type Data = Record<string, unknown>;

const mapOf = (value: unknown): Data | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Data) : undefined;

/** Maps with more entries than allowed, each at its key. */
export function countProblems(data: Data): PathProblem[] {
  const problems: PathProblem[] = [];
  /** Checks one map; true when it is within its limit (its entries may then be looked into). */
  const check = (path: string[], value: unknown, max: number): boolean => {
    const map = mapOf(value);
    const n = map ? Object.keys(map).length : 0;
    if (n <= max) return true;
    problems.push({ path, message: `has ${n} entries, more than the ${max} allowed`, atKey: true });
    return false;
  };
  check(['routes'], data.routes, LIMITS.maxRoutes);
  check(['baseline'], data.baseline, LIMITS.maxBaseline);
  if (check(['services'], data.services, LIMITS.maxServices)) {
    for (const [name, spec] of Object.entries(mapOf(data.services) ?? {})) {
      check(['services', name, 'env'], mapOf(spec)?.env, LIMITS.maxEntries);
      check(['services', name, 'build', 'args'], mapOf(mapOf(spec)?.build)?.args, LIMITS.maxEntries);
    }
  }
  if (check(['templates'], data.templates, LIMITS.maxTemplates)) {
    for (const [name, spec] of Object.entries(mapOf(data.templates) ?? {})) {
      check(['templates', name, 'services'], mapOf(spec)?.services, LIMITS.maxEntries);
      check(['templates', name, 'env'], mapOf(spec)?.env, LIMITS.maxEntries);
      check(['templates', name, 'routes'], mapOf(spec)?.routes, LIMITS.maxRoutes);
    }
  }
  return problems;
}

/** What the yaml library refused while turning the document into data, and where. */
export interface AliasFailure {
  readonly offset: number;
  readonly message: string;
}

/**
 * Explains an error of `doc.toJS({ maxAliasCount })`: the alias that took an anchor's
 * expansion past the limit, or the alias whose anchor does not exist.
 */
export function aliasFailure(doc: Document, error: unknown): AliasFailure {
  const text = error instanceof Error ? error.message : String(error);
  const unresolved = /Unresolved alias[^:]*: (.+)$/.exec(text);
  if (unresolved) {
    const name = unresolved[1]!.trim();
    const alias = aliases(doc).find((a) => a.source === name);
    return {
      offset: alias?.range?.[0] ?? 0,
      message: `*${name} refers to no anchor "${name}" defined before it`,
    };
  }
  if (/alias count/i.test(text)) {
    const culprit = expansionCulprit(doc, LIMITS.maxAliasExpansion) ?? aliases(doc)[0];
    return {
      offset: culprit?.range?.[0] ?? 0,
      message:
        `aliases repeat the content of anchor "${culprit?.source ?? '?'}" more than ${LIMITS.maxAliasExpansion} times ` +
        '(nested aliases multiply): the file expands without bound, like a YAML alias bomb',
    };
  }
  return { offset: 0, message: `cannot be read as data: ${text}` };
}

function aliases(doc: Document): Alias[] {
  const found: Alias[] = [];
  visit(doc, { Alias: (_key, node) => void found.push(node) });
  return found;
}

/**
 * The alias at which the yaml library's alias check fails, found the way it counts: in
 * document order, each use of an anchor counts once, weighted by the heaviest alias inside the
 * anchored node (how many times that one is already repeated); a use whose count times weight
 * exceeds `max` fails.
 */
function expansionCulprit(doc: Document, max: number): Alias | undefined {
  const uses = new Map<Node, { count: number; weight: number }>();
  const anchors = new Map<string, Node>();
  const weight = (node: unknown): number => {
    if (isAlias(node)) {
      const source = anchors.get(node.source);
      const u = source && uses.get(source);
      return u ? u.count * u.weight : 0;
    }
    if (isCollection(node)) return Math.max(0, ...node.items.map(weight));
    if (isPair(node)) return Math.max(weight(node.key), weight(node.value));
    return 1;
  };
  let culprit: Alias | undefined;
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) {
        const source = anchors.get(node.source);
        const u = source && uses.get(source);
        if (!source || !u) return undefined;
        u.count += 1;
        if (u.weight === 0) u.weight = weight(source);
        if (u.count * u.weight > max) {
          culprit = node;
          return visit.BREAK;
        }
      } else if ((isScalar(node) || isCollection(node)) && node.anchor) {
        anchors.set(node.anchor, node);
        uses.set(node, { count: 0, weight: 0 });
      }
      return undefined;
    },
  });
  return culprit;
}
