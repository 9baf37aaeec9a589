import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { getCommandStatus } from '../../core/commands';
import { getApp } from '../app';
import { logger } from '../observability';
import { errorResponse } from './errorResponse';
import { jsonResponse } from './httpResponse';
import { unstorableTextResponse } from './requestText';

/** `GET /commands/{id}`: what became of a command: pending, succeeded with its outcome, or failed with its error. */
async function getCommand(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const refused = unstorableTextResponse(event);
  if (refused) return refused;
  const commandId = event.pathParameters?.command ?? '';
  try {
    const { db } = await getApp();
    const status = await getCommandStatus(db, commandId);
    if (!status) {
      return jsonResponse(404, { code: 'COMMAND_NOT_FOUND', message: `No command ${commandId}`, details: { commandId } });
    }
    return jsonResponse(200, status);
  } catch (error) {
    logger.error('reading a command failed', { error: error instanceof Error ? error : String(error) });
    return errorResponse(error);
  }
}

export const handler = middy(getCommand).use(injectLambdaContext(logger, { resetKeys: true }));
