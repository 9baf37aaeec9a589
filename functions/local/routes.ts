import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

/** A Lambda handler behind an HTTP API route (payload format 2.0), as deployed. */
export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface LocalRoute {
  /** An HTTP method, or `ANY`, as in an API Gateway route key. */
  method: string;
  /** A path as API Gateway writes routes: `/commands/{type}`, or a greedy last segment `/files/{path+}`. */
  path: string;
  handler: HttpHandler;
  /** The Lambda's name in its context; by default derived from the route. */
  functionName?: string;
  /** Served without the bearer token, as a route with no authorizer in AWS. */
  open?: boolean;
  /** The Lambda's timeout, which `getRemainingTimeInMillis` counts down; default 30 s. */
  timeoutMs?: number;
}

export interface RouteMatch {
  route: LocalRoute;
  /** `METHOD /path/{template}`, as API Gateway puts it in the event. */
  routeKey: string;
  pathParameters: Record<string, string>;
}

interface CompiledRoute {
  route: LocalRoute;
  routeKey: string;
  pattern: RegExp;
  names: string[];
  /** API Gateway prefers the most specific route: no greedy variable, more literal segments, an exact method. */
  rank: [number, number, number];
}

const VARIABLE = /^\{([A-Za-z0-9_.-]+)(\+?)\}$/;
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compile(route: LocalRoute): CompiledRoute {
  const method = route.method.toUpperCase();
  if (!route.path.startsWith('/')) throw new Error(`Route path must start with "/": ${route.path}`);
  const segments = route.path.split('/').slice(1);
  const names: string[] = [];
  const parts: string[] = [];
  let literals = 0;
  let greedy = false;
  for (const [index, segment] of segments.entries()) {
    const variable = VARIABLE.exec(segment);
    if (!variable) {
      if (segment.includes('{') || segment.includes('}')) throw new Error(`Route variables must be whole segments: ${route.path}`);
      literals += 1;
      parts.push(escapeRegExp(segment));
    } else if (variable[2] !== '+') {
      names.push(variable[1] ?? '');
      parts.push('([^/]+)');
    } else {
      if (index !== segments.length - 1) throw new Error(`A greedy variable must be the last segment: ${route.path}`);
      names.push(variable[1] ?? '');
      parts.push('(.+)');
      greedy = true;
    }
  }
  return {
    route,
    routeKey: `${method} ${route.path}`,
    pattern: new RegExp(`^/${parts.join('/')}$`),
    names,
    rank: [greedy ? 0 : 1, literals, method === 'ANY' ? 0 : 1],
  };
}

const byRank = (a: CompiledRoute, b: CompiledRoute) =>
  b.rank[0] - a.rank[0] || b.rank[1] - a.rank[1] || b.rank[2] - a.rank[2];

/** API Gateway passes path parameters decoded; a malformed escape is passed as it came. */
function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export interface RouteTable {
  /** The most specific route for the request, or undefined when none takes its method at its path. */
  match: (method: string, rawPath: string) => RouteMatch | undefined;
  /** The methods routes take at this path, sorted: what a 405 lists in `Allow`; empty for an unknown path. */
  methodsAt: (rawPath: string) => string[];
}

/** Compiles a route table once, refusing malformed or duplicate routes. */
export function compileRoutes(routes: readonly LocalRoute[]): RouteTable {
  const compiled = routes.map(compile).sort(byRank);
  const keys = new Set<string>();
  for (const { routeKey } of compiled) {
    if (keys.has(routeKey)) throw new Error(`Duplicate route: ${routeKey}`);
    keys.add(routeKey);
  }
  return {
    match: (method, rawPath) => {
      const wanted = method.toUpperCase();
      for (const candidate of compiled) {
        const routeMethod = candidate.route.method.toUpperCase();
        if (routeMethod !== wanted && routeMethod !== 'ANY') continue;
        const found = candidate.pattern.exec(rawPath);
        if (!found) continue;
        const pathParameters = Object.fromEntries(candidate.names.map((name, index) => [name, decode(found[index + 1] ?? '')]));
        return { route: candidate.route, routeKey: candidate.routeKey, pathParameters };
      }
      return undefined;
    },
    methodsAt: (rawPath) => {
      const methods = compiled.filter((candidate) => candidate.pattern.test(rawPath)).map((candidate) => candidate.route.method.toUpperCase());
      return [...new Set(methods)].sort();
    },
  };
}
