import { configureLogging } from '../../core/observability';
import { useAppOnTestDatabase } from './appOnTestDatabase';
import { uniqueJetStream } from './natsTesting';
import { usePrivateNatsServer } from './privateNatsServer';

export interface LoggedLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

/**
 * For a spec file of the publisher function: the app on a test database of the
 * file's own, publishing to a NATS server of its own on a stream name of its
 * own, and every line the functions log, in order. Call at the file's top level.
 */
export function usePublisherFunctionApp() {
  const jetStream = uniqueJetStream();
  const lines: LoggedLine[] = [];
  configureLogging((level, message, fields) => {
    lines.push({ level, message, fields });
  });
  const nats = usePrivateNatsServer();
  const database = useAppOnTestDatabase({
    env: () => ({ NATS_URL: nats().url, PUBLISH_STREAM: jetStream.name, PUBLISH_SUBJECT_PREFIX: jetStream.prefix, NUDGE_FUNCTIONS: undefined }),
  });
  return { jetStream, lines, nats, database };
}
