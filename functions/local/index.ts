export { startLocalServer, MAX_BODY_BYTES, type LocalServer, type LocalServerOptions } from './localServer';
export { compileRoutes, type HttpHandler, type LocalRoute, type RouteMatch, type RouteTable } from './routes';
export { toApiGatewayEvent, type LocalRequest } from './apiGatewayEvent';
export { createLambdaContext, DEFAULT_TIMEOUT_MS } from './lambdaContext';
export { startDevServer, type DevServer, type DevServerOptions } from './devServer';
export { readableLog } from './readableLog';
export { PrometheusRegistry } from './prometheusRegistry';
