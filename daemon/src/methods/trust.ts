/**
 * Handlers of the trust namespace (schemas/src/trust.ts) over the {@link TrustStore}: list,
 * grant (recording which client and OS user granted it) and revoke.
 */
import type { trustMethods } from '../../../schemas/src/trust';
import { RpcError } from '../rpc/errors';
import type { HandlerGroup } from '../rpc/handlers';
import type { TrustStore } from '../trust/trust-store';

type TrustMethod = keyof typeof trustMethods;

export function trustHandlers({ trust }: { readonly trust: TrustStore }): HandlerGroup<TrustMethod> {
  return {
    'trust/list': (p) => ({ commands: trust.list(p.repoPath) }),
    'trust/grant': (p, ctx) => {
      const client = ctx.session.clientInfo?.name ?? 'unknown client';
      return trust.grant({ repoPath: p.repoPath, context: p.context, command: p.command }, `${client} (${ctx.session.osUser})`);
    },
    'trust/revoke': (p) => {
      if ((p.id === undefined) === (p.repoPath === undefined)) {
        throw new RpcError('InvalidParams', 'trust/revoke takes exactly one of id and repoPath', {
          violations: [{ path: '', message: 'must have exactly one of id and repoPath' }],
        });
      }
      return { revoked: trust.revoke(p.id !== undefined ? { id: p.id } : { repoPath: p.repoPath! }) };
    },
  };
}
