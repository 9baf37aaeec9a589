import type { Service } from './defineService';

/** Which generic handler serves a route. */
export type RouteKind = 'command' | 'command-status' | 'query' | 'browser';

export interface ServiceRoute {
  method: 'GET' | 'POST';
  path: `/${string}`;
  kind: RouteKind;
  /**
   * Served without the service's access: only the browser's page, which holds
   * no data (its API calls carry the credentials), so a person can open it.
   */
  open?: true;
}

/**
 * The service's HTTP routes, as API Gateway and the dev server declare them:
 * the command routes every service has, then its query routes. One variable
 * name at the /commands level ({command}: the type to POST, the id to GET),
 * since API Gateway refuses sibling path variables with different names.
 */
export function serviceRoutes(service: Service): ServiceRoute[] {
  return [
    { method: 'POST', path: '/commands/{command}', kind: 'command' },
    { method: 'GET', path: '/commands/{command}', kind: 'command-status' },
    ...(service.queries ?? []).map((query) => ({ method: 'GET' as const, path: query.path, kind: 'query' as const })),
    ...(service.browser === false
      ? []
      : ([
          { method: 'GET', path: '/browser', kind: 'browser', open: true },
          { method: 'GET', path: '/browser/{proxy+}', kind: 'browser' },
          { method: 'POST', path: '/browser/{proxy+}', kind: 'browser' },
        ] as const)),
  ];
}

/** The background work the service needs run on a schedule (and nudged after commits). */
export type ScheduledWork = 'publisher' | 'projector' | 'saga-processor' | 'saga-sweeper' | 'command-sweeper';

export function scheduledWork(service: Service): ScheduledWork[] {
  return [
    'publisher',
    ...((service.projections ?? []).length > 0 ? (['projector'] as const) : []),
    ...((service.sagas ?? []).length > 0 ? (['saga-processor', 'saga-sweeper'] as const) : []),
    'command-sweeper',
  ];
}
