import { handler as getCommand } from '../../functions/http/getCommand';
import { handler as postCommand } from '../../functions/http/postCommand';
import { apiGatewayEvent, lambdaContext, parseResponse, type JsonResponse } from './apiGatewayEvent';

/** `POST /commands/{type}` through the real handler; a string body is sent as is. */
export async function postCommandRequest(type: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const event = apiGatewayEvent({
    method: 'POST',
    route: '/commands/{command}',
    path: `/commands/${type}`,
    pathParameters: { command: type },
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return parseResponse(await postCommand(event, lambdaContext()));
}

/** `GET /commands/{id}` through the real handler. */
export async function getCommandRequest(id: string): Promise<JsonResponse> {
  const event = apiGatewayEvent({ method: 'GET', route: '/commands/{command}', path: `/commands/${id}`, pathParameters: { command: id } });
  return parseResponse(await getCommand(event, lambdaContext()));
}
