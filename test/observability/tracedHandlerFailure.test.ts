import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { createProjector, defineProjection, getProjectionStatus } from '../../core/projections';
import { createEventStore } from '../../core/eventstore';
import { opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { installTracingSdk } from './support/tracingSdk';

const sdk = installTracingSdk();
const testDatabase = usePooledTestDatabase(2);

describe('a traced projection batch whose handler throws an object with no prototype', () => {
  it('records the failure on the handler span and counts it on the partition', async () => {
    const db = testDatabase();
    await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const dictionary: unknown = Object.assign(Object.create(null) as object, { reason: 'bad data' });
    const projection = defineProjection<AccountEvent>()({
      name: 'traced_no_prototype',
      version: 1,
      tables: [],
      handlers: {
        AccountOpened: () => {
          throw dictionary;
        },
      },
    });

    await createProjector({ db, projections: [projection], failurePolicy: { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 } }).runUntilCaughtUp();

    const [status] = await getProjectionStatus(db, 'traced_no_prototype');
    expect(status?.generations[0]?.partitions[0]).toMatchObject({ attempts: 1, lagEvents: 1, lastError: expect.stringContaining('[object Object]') as unknown });
    const handlerSpan = sdk.spans().find((span) => span.name === 'project AccountOpened');
    expect(handlerSpan?.status).toEqual({ code: SpanStatusCode.ERROR, message: '[object Object]' });
  });
});
