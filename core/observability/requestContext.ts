import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What a piece of work was started by, carried from the HTTP handler (or the
 * event, or the saga step) through everything it calls: onto events, NATS
 * headers, log lines and the commands it sends.
 */
export interface RequestContext {
  correlationId: string;
  causationId?: string;
  commandId?: string;
  /** W3C trace context: where a trace continues when no span of this process is active. */
  traceparent?: string;
  tracestate?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `work` with `context` as the current one (for everything it awaits too). */
export function runInContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** The context of the work in progress, if any. */
export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}
