/**
 * The grammar of what names a Docker object in a request: a container, image, network or
 * volume id or name. The daemon puts these into the Engine API's URL paths
 * (`/containers/{id}/json`), so anything outside the grammar — `..`, `/`, `%2e`, `?` — is
 * refused by the params schema (InvalidParams, naming the violation) before it can reach a URL.
 *
 * - container: a name as Docker allows it (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), optionally with the
 *   leading `/` the engine shows in `Names`; a full id or an id prefix is a name of hex digits.
 * - image: an id (`sha256:` and hex, or a hex prefix) or a reference as the distribution
 *   reference grammar defines it: `[domain[:port]/]path[:tag][@digest]`, lowercase path
 *   components separated by `.`, `_`, `__` or dashes, a tag of at most 128 word characters.
 * - network: a name or id (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
 * - volume: a name (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`, two characters at least).
 */
import { Type } from '@sinclair/typebox';

/** Docker's rule for container and network names; hex ids and id prefixes follow it too. */
export const OBJECT_NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$';
export const CONTAINER_REF_PATTERN = '^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$';
export const VOLUME_NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]+$';

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|-+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domain = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const tag = '[\\w][\\w.-]{0,127}';
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
/** A reference (`[domain/]path[:tag][@digest]`) or an image id (`sha256:<hex>`, which it matches too). */
export const IMAGE_REF_PATTERN = `^(?:${domain}/)?${pathComponent}(?:/${pathComponent})*(?::${tag})?(?:@${digest})?$`;

/** Longest accepted value: Docker caps a repository name at 255 characters; tag and digest add to it. */
export const MAX_REF_LENGTH = 512;

export const ContainerRef = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: MAX_REF_LENGTH,
    pattern: CONTAINER_REF_PATTERN,
    'x-message':
      'must be a container name (letters, digits, "_", "." and "-", not starting with "." or "-") or id, e.g. "web" or "3f2a91c0d4e5"',
    description: `${description} A name (letters, digits, "_", "." and "-", not starting with "." or "-"; a leading "/" is ignored), or a full or unambiguous id prefix.`,
  });

export const ImageRef = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: MAX_REF_LENGTH,
    pattern: IMAGE_REF_PATTERN,
    'x-message': 'must be an image reference such as "registry.example.com/team/app:1.2" (lowercase repository) or an image id',
    description: `${description} A reference (\`[registry/]repository[:tag][@digest]\`, lowercase repository) or an id (\`sha256:…\` or a hex prefix).`,
  });

export const NetworkRef = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: MAX_REF_LENGTH,
    pattern: OBJECT_NAME_PATTERN,
    'x-message': 'must be a network name (letters, digits, "_", "." and "-", not starting with "." or "-") or id',
    description,
  });

export const VolumeRef = (description: string) =>
  Type.String({
    minLength: 2,
    maxLength: MAX_REF_LENGTH,
    pattern: VOLUME_NAME_PATTERN,
    'x-message': 'must be a volume name: two or more letters, digits, "_", "." and "-", not starting with "." or "-"',
    description,
  });

/** The container name or id a client sent, as the engine's URL takes it: without a leading `/`. */
export const containerRefForEngine = (ref: string): string => (ref.startsWith('/') ? ref.slice(1) : ref);
