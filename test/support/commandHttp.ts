import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handler as getCommand } from '../../functions/http/getCommand';
import { handler as postCommand } from '../../functions/http/postCommand';
import { apiGatewayEvent, lambdaContext, parseResponse, type JsonResponse } from './apiGatewayEvent';

/** The API Gateway event of `POST /commands/{type}`; a string body is sent as is. */
export function postCommandEvent(type: string, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return apiGatewayEvent({
    method: 'POST',
    route: '/commands/{command}',
    path: `/commands/${type}`,
    pathParameters: { command: type },
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** `POST /commands/{type}` through the deployment's handler. */
export async function postCommandRequest(type: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  return parseResponse(await postCommand(postCommandEvent(type, body, headers), lambdaContext()));
}

/** `GET /commands/{id}` through the real handler. */
export async function getCommandRequest(id: string): Promise<JsonResponse> {
  const event = apiGatewayEvent({ method: 'GET', route: '/commands/{command}', path: `/commands/${id}`, pathParameters: { command: id } });
  return parseResponse(await getCommand(event, lambdaContext()));
}
