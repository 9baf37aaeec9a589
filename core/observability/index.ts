export { runInContext, currentContext, type RequestContext } from './requestContext';
export { parseTraceparent, formatTraceparent, freshTraceparent, acceptTraceparent, type TraceParent } from './traceparent';
export { inSpan, contextFromTraceparent, currentTraceparent, linkTo, spanIsActive, SpanKind, type SpanRequest } from './tracing';
export { startMessageSpan, type MessageSpan } from './messageSpans';
export { handleEvent, continueItem, inBatchSpan, type TracedItem } from './itemContext';
export { log, configureLogging, contextFields, type LogSink, type LogLevel, type LogFields } from './logging';
export { metrics, addMetricsSink, type MetricsSink, type MetricUnit, type MetricLabels } from './metrics';
