import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { StatementPageRequestSchema } from '../../core/bank';
import { getApp } from '../app';
import { logger } from '../observability';
import { errorResponse } from './errorResponse';
import { accountNotFound } from './getAccount';
import { jsonResponse } from './httpResponse';
import { unstorableTextResponse } from './requestText';

/**
 * `GET /accounts/{id}/statement?limit=50&after=<cursor>`: the account's
 * movements, oldest first, each with the balance after it; `nextCursor` is the
 * `after` of the next page, null on the last.
 */
async function getAccountStatement(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const refused = unstorableTextResponse(event);
  if (refused) return refused;
  const accountId = event.pathParameters?.id ?? '';
  const page = StatementPageRequestSchema.safeParse(event.queryStringParameters ?? {});
  if (!page.success) {
    const issues = page.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    return jsonResponse(400, { code: 'INVALID_PAGE', message: 'The page parameters are invalid', details: { issues } });
  }
  try {
    const { accountQueries } = await getApp();
    const statement = await accountQueries.getAccountStatement(accountId, page.data);
    return statement ? jsonResponse(200, statement) : accountNotFound(accountId);
  } catch (error) {
    logger.error('reading a statement failed', { error: error instanceof Error ? error : String(error) });
    return errorResponse(error);
  }
}

export const handler = middy(getAccountStatement).use(injectLambdaContext(logger, { resetKeys: true }));
