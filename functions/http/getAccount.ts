import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { getApp } from '../app';
import { logger } from '../observability';
import { errorResponse } from './errorResponse';
import { jsonResponse } from './httpResponse';
import { unstorableTextResponse } from './requestText';

export const accountNotFound = (accountId: string): APIGatewayProxyStructuredResultV2 =>
  jsonResponse(404, { code: 'ACCOUNT_NOT_FOUND', message: `No account ${accountId}`, details: { accountId } });

/** `GET /accounts/{id}`: the account's summary (owner, currency, balance, status) from its read model. */
async function getAccount(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const refused = unstorableTextResponse(event);
  if (refused) return refused;
  const accountId = event.pathParameters?.id ?? '';
  try {
    const { accountQueries } = await getApp();
    const summary = await accountQueries.getAccountSummary(accountId);
    return summary ? jsonResponse(200, summary) : accountNotFound(accountId);
  } catch (error) {
    logger.error('reading an account failed', { error: error instanceof Error ? error : String(error) });
    return errorResponse(error);
  }
}

export const handler = middy(getAccount).use(injectLambdaContext(logger, { resetKeys: true }));
