/**
 * Who owns a Docker object, told by its labels (labels, not names, are the truth): this
 * daemon's instance (`branchbox.managed=true` + `branchbox.instance=<id>`, and for what a
 * sandbox holds, `branchbox.sandbox` / `branchbox.service`), another Branchbox instance, or
 * nobody Branchbox knows. {@link Ownership} is the label set a daemon stamps on what it
 * creates and the one rule that says whether it may rename, stop, start, restart, disconnect
 * or remove an object; a refusal is an `RpcError` `Conflict` naming the owner.
 */
import { RpcError } from '../rpc/errors';
import { LABELS } from './labels';
import type { DockerObjectType } from './types';

/** What a caller acts for: a sandbox, or one service of it. */
export interface OwnerScope {
  readonly sandbox?: string;
  readonly service?: string;
}

/** An object as the ownership rule needs it. */
export interface LabelledObject {
  readonly kind: DockerObjectType;
  readonly id: string;
  /** Its name (containers, networks, volumes) or first tag (images); the id when it has none. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The owner of an object, as a refusal's data carries it; null when it is not a Branchbox object. */
export interface OwnerData {
  readonly instance?: string;
  readonly sandbox?: string;
  readonly service?: string;
}

export class Ownership {
  constructor(
    /** This daemon's instance id (`branchbox.instance`). */
    readonly instance: string,
    /** Labels added to everything created besides Branchbox's own (`--label`, e.g. `branchbox.test=<run>`). */
    readonly extraLabels: Readonly<Record<string, string>> = {},
  ) {}

  /** The labels of everything this instance creates (for a sandbox, or a service of one). */
  labels(scope: OwnerScope = {}): Record<string, string> {
    return {
      ...this.extraLabels,
      [LABELS.managed]: 'true',
      [LABELS.instance]: this.instance,
      ...(scope.sandbox !== undefined ? { [LABELS.sandbox]: scope.sandbox } : {}),
      ...(scope.service !== undefined ? { [LABELS.service]: scope.service } : {}),
    };
  }

  /** Docker label filters matching what this instance created (and, given, for that sandbox/service). */
  selectors(scope: OwnerScope = {}): string[] {
    return Object.entries(this.labels(scope))
      .filter(([key]) => !Object.hasOwn(this.extraLabels, key))
      .map(([key, value]) => `${key}=${value}`);
  }

  /** Whether the labels say the object is this instance's (and of that sandbox/service). */
  owns(labels: Readonly<Record<string, string>>, scope: OwnerScope = {}): boolean {
    return (
      labels[LABELS.managed] === 'true' &&
      labels[LABELS.instance] === this.instance &&
      (scope.sandbox === undefined || labels[LABELS.sandbox] === scope.sandbox) &&
      (scope.service === undefined || labels[LABELS.service] === scope.service)
    );
  }

  /** Throws `Conflict` naming the owner unless the object is this instance's (and in `scope`). */
  check(action: string, object: LabelledObject, scope: OwnerScope = {}): void {
    if (this.owns(object.labels, scope)) return;
    throw refusal(action, object, this.ownerPhrase(object.labels, scope));
  }

  /**
   * For what a user names (the docker CLI's rule): anything goes except an object managed by
   * another Branchbox instance, refused with `Conflict` naming it.
   */
  checkNotForeign(action: string, object: LabelledObject): void {
    const { labels } = object;
    if (labels[LABELS.managed] !== 'true' || labels[LABELS.instance] === undefined || labels[LABELS.instance] === this.instance) return;
    throw refusal(action, object, this.ownerPhrase(labels, {}));
  }

  /** "belongs to Branchbox instance 3f9a… sandbox x", "is not a Branchbox object"... */
  private ownerPhrase(labels: Readonly<Record<string, string>>, scope: OwnerScope): string {
    const owner = ownerOf(labels);
    if (!owner) return 'is not a Branchbox object';
    const where = `${owner.sandbox !== undefined ? ` sandbox ${owner.sandbox}` : ''}${owner.service !== undefined ? ` service ${owner.service}` : ''}`;
    if (owner.instance !== this.instance) {
      return `belongs to Branchbox instance ${owner.instance ?? '(none)'}${where}, not to this one (${this.instance})`;
    }
    const wanted = `${scope.sandbox !== undefined ? ` sandbox ${scope.sandbox}` : ''}${scope.service !== undefined ? ` service ${scope.service}` : ''}`;
    return `belongs to${where || ' no sandbox'} of this Branchbox instance, not to${wanted}`;
  }
}

/** The owner the labels name; undefined when the object is not a Branchbox object. */
export function ownerOf(labels: Readonly<Record<string, string>>): OwnerData | undefined {
  if (labels[LABELS.managed] !== 'true') return undefined;
  const { [LABELS.instance]: instance, [LABELS.sandbox]: sandbox, [LABELS.service]: service } = labels;
  return {
    ...(instance !== undefined ? { instance } : {}),
    ...(sandbox !== undefined ? { sandbox } : {}),
    ...(service !== undefined ? { service } : {}),
  };
}

function refusal(action: string, object: LabelledObject, phrase: string): RpcError {
  const owner = ownerOf(object.labels) ?? null;
  return new RpcError('Conflict', `Refused to ${action} ${object.kind} ${object.name}: it ${phrase}.`, {
    kind: object.kind,
    id: object.id,
    name: object.name,
    owner,
  });
}
