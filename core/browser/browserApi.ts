import { BrowserInputError, BrowserNotFoundError } from './browserErrors';
import type { BrowserSources } from './BrowserSources';
import { correlationStory, traceStory } from './correlationStory';
import { eventDetails } from './eventDetails';
import { feedPage } from './feedView';
import { discardAction, listSagas, projectionsHealth, publishingHealth, rebuildProjectionAction, requeueAction, sagaInstances } from './operationsViews';
import { search } from './searchView';
import { listStreams, stateAtVersion, streamEvents } from './streamViews';

type Query = Record<string, string | undefined>;
type Answer = (sources: BrowserSources, params: string[], query: Query) => Promise<object>;

interface BrowserRoute {
  method: 'GET' | 'POST';
  /** Under /browser/api; `*` is one path segment. */
  pattern: string;
  answer: Answer;
}

const at = (params: string[], index: number) => params[index] ?? '';

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BrowserInputError('INVALID_PATH', `The path segment ${segment} is not valid percent-encoding`, { segment });
  }
}

/** Every read, and the two actions, of the browser's API. */
const ROUTES: readonly BrowserRoute[] = [
  { method: 'GET', pattern: 'search', answer: (sources, _params, query) => search(sources, query) },
  { method: 'GET', pattern: 'streams', answer: (sources, _params, query) => listStreams(sources, query) },
  { method: 'GET', pattern: 'streams/*', answer: (sources, params, query) => streamEvents(sources, at(params, 0), query) },
  { method: 'GET', pattern: 'streams/*/state', answer: (sources, params, query) => stateAtVersion(sources, at(params, 0), query) },
  { method: 'GET', pattern: 'events/*', answer: (sources, params, query) => eventDetails(sources, at(params, 0), query) },
  { method: 'GET', pattern: 'feed', answer: (sources, _params, query) => feedPage(sources, query) },
  { method: 'GET', pattern: 'correlations/*', answer: (sources, params) => correlationStory(sources, at(params, 0)) },
  { method: 'GET', pattern: 'traces/*', answer: (sources, params) => traceStory(sources, at(params, 0)) },
  { method: 'GET', pattern: 'sagas', answer: (sources, _params, query) => listSagas(sources, query) },
  { method: 'GET', pattern: 'sagas/*', answer: (sources, params) => sagaInstances(sources, at(params, 0)) },
  { method: 'GET', pattern: 'projections', answer: (sources) => projectionsHealth(sources) },
  { method: 'GET', pattern: 'publishing', answer: (sources, _params, query) => publishingHealth(sources, query) },
  { method: 'POST', pattern: 'projections/*/rebuild', answer: (sources, params) => rebuildProjectionAction(sources, at(params, 0)) },
  { method: 'POST', pattern: 'publishing/parked/*/requeue', answer: (sources, params, query) => requeueAction(sources, at(params, 0), query) },
  { method: 'POST', pattern: 'publishing/parked/*/discard', answer: (sources, params, query) => discardAction(sources, at(params, 0), query) },
];

function match(pattern: string, segments: readonly string[]): string[] | null {
  const parts = pattern.split('/');
  if (parts.length !== segments.length) return null;
  const params: string[] = [];
  for (const [index, part] of parts.entries()) {
    const segment = segments[index] ?? '';
    if (part === '*') params.push(segment);
    else if (part !== segment) return null;
  }
  return params;
}

/**
 * Answers `METHOD /browser/api/<path>`: the path is split into segments, each
 * decoded once (a stream id may hold a slash, sent as %2F). Throws
 * BrowserInputError (400) or BrowserNotFoundError (404) for requests it cannot answer.
 */
export async function answerBrowserRequest(sources: BrowserSources, method: string, path: string, query: Query): Promise<object> {
  const segments = path.replace(/^\/+|\/+$/g, '').split('/').map(decodeSegment);
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const params = match(route.pattern, segments);
    if (params) return route.answer(sources, params, query);
  }
  throw new BrowserNotFoundError('ROUTE_NOT_FOUND', `No browser API at ${method} /browser/api/${path}`, { method, path });
}
