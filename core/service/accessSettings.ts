/**
 * Who may call the service's routes in AWS. Nothing is open by default: a
 * service states `jwt` (a JWT authorizer, issuer and audiences) or `iam`
 * (callers sign with SigV4), or `public` to open the routes on purpose.
 * Locally, `npm run dev` asks for `Authorization: Bearer $API_TOKEN` when
 * API_TOKEN is set.
 */
export type AccessSettings =
  | { kind: 'jwt'; issuer: string; audiences: readonly string[]; scopes?: readonly string[] }
  | { kind: 'iam' }
  | { kind: 'public' };

export const DEFAULT_ACCESS: AccessSettings = { kind: 'iam' };
