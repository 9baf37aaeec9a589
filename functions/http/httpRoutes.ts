import type { LocalRoute } from '../local';
import { handler as getAccount } from './getAccount';
import { handler as getAccountStatement } from './getAccountStatement';
import { handler as getCommand } from './getCommand';
import { handler as postCommand } from './postCommand';

/**
 * The HTTP API as the local runtime serves it (`npm run dev`, and the specs
 * that drive it over real HTTP). `sst.config.ts` declares the same routes on
 * API Gateway.
 */
export const httpRoutes: readonly LocalRoute[] = [
  { method: 'POST', path: '/commands/{command}', handler: postCommand, functionName: 'postCommand' },
  { method: 'GET', path: '/commands/{command}', handler: getCommand, functionName: 'getCommand' },
  { method: 'GET', path: '/accounts/{id}', handler: getAccount, functionName: 'getAccount' },
  { method: 'GET', path: '/accounts/{id}/statement', handler: getAccountStatement, functionName: 'getAccountStatement' },
];
