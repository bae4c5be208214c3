/**
 * The naming rules of Branchbox objects, checked by the daemon so the error says which rule
 * was broken: sandbox, template and snapshot names are DNS labels (they become Docker names
 * and hostnames: `sandbox-{name}`, `sandbox-{name}_{service}`, `{service}`; see
 * schemas/src/docker-names.ts); environment keys are what a shell accepts as a variable name.
 */
import { ENV_KEY_PATTERN, NAME_RULE } from '../../../schemas/src/project';
import { RpcError } from '../rpc/errors';

export const MAX_NAME_LENGTH = 40;
const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const ENV_KEY = new RegExp(ENV_KEY_PATTERN);

/** Why `name` is not a valid DNS-label name, or undefined when it is. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > MAX_NAME_LENGTH) return `it has ${name.length} characters, at most ${MAX_NAME_LENGTH} are allowed`;
  const bad = [...new Set(name.replace(/[a-z0-9-]/g, ''))];
  if (bad.length)
    return `it contains ${bad.map((c) => JSON.stringify(c)).join(', ')}${/[A-Z]/.test(name) ? ' (use lowercase)' : ''}`;
  if (!LABEL.test(name)) return 'it starts or ends with "-"';
  return undefined;
}

function check(kind: string, name: string): void {
  const problem = nameProblem(name);
  if (problem)
    throw new RpcError(
      'InvalidName',
      `Invalid ${kind} name ${JSON.stringify(name)}: ${problem}. Names are ${NAME_RULE}.`,
      { kind, value: name, rule: NAME_RULE },
    );
}

/** @throws RpcError InvalidName, naming the broken rule. */
export const validateSandboxName = (name: string): void => check('sandbox', name);
export const validateTemplateName = (name: string): void => check('template', name);
export const validateSnapshotName = (name: string): void => check('snapshot', name);
export const validateServiceName = (name: string): void => check('service', name);

/** @throws RpcError InvalidName unless `key` is letters, digits and `_`, not starting with a digit. */
export function validateEnvKey(key: string): void {
  if (!ENV_KEY.test(key)) {
    throw new RpcError(
      'InvalidName',
      `Invalid environment key ${JSON.stringify(key)}: keys are letters, digits and "_", not starting with a digit (${ENV_KEY_PATTERN}).`,
      { key, rule: ENV_KEY_PATTERN },
    );
  }
}

/** Docker names of a sandbox's objects (one rule with the clients). */
export { deploymentContainerName, networkName, serviceAliases, servingContainerName } from '../../../schemas/src/docker-names';
