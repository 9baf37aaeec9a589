/**
 * The event browser's reads on a store of 1,000,000 events: the p99 of each
 * beside the p99 of a hand-written SQL query returning the same rows,
 * interleaved, on ANALYZEd tables, once the story index has caught up.
 * Writes bench/results/browser.json.
 */
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  correlationStory,
  eventDetails,
  feedPage,
  indexStories,
  listStreams,
  stateAtVersion,
  streamEvents,
  traceStory,
  type BrowserSources,
} from '../core/browser';
import { bankService } from '../core/bank';
import { EVENT_COLUMNS } from '../core/eventstore';
import { createInProcessDispatcher } from '../core/commands';
import { createPgDb } from '../core/db';
import { createServiceRuntime } from '../core/service';
import type { BenchResult } from './support/benchResult';
import { percentile } from './support/closedLoop';
import { runBench } from './support/runBench';
import { alignColumns } from './support/textTable';

const RESULTS_PATH = fileURLToPath(new URL('results/browser.json', import.meta.url));
const EVENTS = 1_000_000;
const STREAMS = 100_000;
const PER_STREAM = EVENTS / STREAMS;
const ROUNDS = 300;
const TARGET_RATIO = 0.5;
const TARGET_MS = 100;

// Accounts opened and fed deposits, ten events each; every ten events in feed order share a correlation and a trace.
const FILL_SQL = `
  INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data, metadata)
  SELECT 'account-' || s, 'account', v, gen_random_uuid(),
         CASE WHEN v = 1 THEN 'AccountOpened' ELSE 'MoneyDeposited' END, 1,
         CASE WHEN v = 1 THEN jsonb_build_object('owner', 'o' || s, 'currency', 'EUR') ELSE jsonb_build_object('amount', v) END,
         jsonb_build_object('correlationId', 'corr-' || ((s * ${PER_STREAM} + v) / 10), 'causationId', 'cmd-' || s || '-' || v,
                            'commandId', 'cmd-' || s || '-' || v,
                            'traceparent', '00-' || lpad(to_hex((s * ${PER_STREAM} + v) / 10), 32, '0') || '-00f067aa0ba902b7-01')
  FROM generate_series($1::int, $2::int) AS s, generate_series(1, ${PER_STREAM}) AS v`;

const LOOSE_SCAN_SQL = `
  WITH RECURSIVE ids(stream_id) AS (
    (SELECT stream_id FROM events WHERE stream_id >= $1 ORDER BY stream_id LIMIT 1)
    UNION ALL
    SELECT (SELECT e.stream_id FROM events e WHERE e.stream_id > ids.stream_id ORDER BY e.stream_id LIMIT 1)
    FROM ids WHERE ids.stream_id IS NOT NULL AND starts_with(ids.stream_id, $1)
  )
  SELECT h.* FROM ids CROSS JOIN LATERAL (
    SELECT e.stream_id, e.stream_type, e.version, e.recorded_at FROM events e WHERE e.stream_id = ids.stream_id ORDER BY e.version DESC LIMIT 1
  ) h WHERE starts_with(ids.stream_id, $1) LIMIT 51`;

// A story's events through the story index, as the browser finds those the index has
// reached (here, all of them): hand-written, with no walk of what it has not.
const STORY_EVENTS_SQL = `SELECT ${EVENT_COLUMNS} FROM story_keys k JOIN events e ON e.tx_id = k.tx_id AND e.global_position = k.global_position
  WHERE k.correlation_id = $1 ORDER BY e.global_position`;

async function fill(pool: pg.Pool): Promise<void> {
  // A transaction per 10,000 streams: the feed holds many transaction ids, as a store that has lived does.
  for (let from = 0; from < STREAMS; from += 10_000) {
    await pool.query(FILL_SQL, [from, from + 9_999]);
    if (from % 50_000 === 0) console.error(`  ${String((from + 10_000) * PER_STREAM)} events`);
  }
  await pool.query('ANALYZE events');
  await pool.query('ANALYZE commands');
}

interface Read {
  name: string;
  browser: () => Promise<unknown>;
  /** The same rows, by a hand-written query. */
  sql: () => Promise<unknown>;
}

function reads(sources: BrowserSources, pool: pg.Pool, midpoint: { tx: string; position: string }): Read[] {
  const stream = () => `account-${String(randomInt(STREAMS))}`;
  const correlation = () => `corr-${String(randomInt(EVENTS / 10))}`;
  const trace = () => randomInt(EVENTS / 10).toString(16).padStart(32, '0');
  let eventIds: string[] = [];
  const eventId = () => eventIds[randomInt(eventIds.length)] ?? '';
  return [
    {
      name: 'streams by prefix, a page of 50',
      browser: () => listStreams(sources, { prefix: `account-${String(randomInt(10, 99))}`, limit: '50' }),
      // The fastest hand-written form is the same loose index scan (DISTINCT ON reads every row of the range).
      sql: () => pool.query({ name: 'streams', text: LOOSE_SCAN_SQL, values: [`account-${String(randomInt(10, 99))}`] }),
    },
    {
      name: "a stream's events",
      browser: () => streamEvents(sources, stream(), {}),
      sql: () => pool.query({ name: 'stream', rowMode: 'array', text: `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.stream_id = $1 ORDER BY e.version LIMIT 51`, values: [stream()] }),
    },
    {
      name: "an aggregate's state at a version",
      browser: () => stateAtVersion(sources, stream(), { version: '5' }),
      sql: () => pool.query({ name: 'state', rowMode: 'array', text: `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.stream_id = $1 AND e.version <= 5 ORDER BY e.version`, values: [stream()] }),
    },
    {
      name: 'one event and its links',
      browser: async () => {
        if (eventIds.length === 0) eventIds = (await pool.query<{ event_id: string }>('SELECT event_id FROM events TABLESAMPLE SYSTEM (0.1) LIMIT 500')).rows.map((row) => row.event_id);
        return eventDetails(sources, eventId(), {});
      },
      sql: () => pool.query({ name: 'event', rowMode: 'array', text: `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.event_id = $1`, values: [eventId()] }),
    },
    {
      name: 'a page of 50 of the feed',
      browser: () => feedPage(sources, { after: `${midpoint.tx}:${midpoint.position}`, limit: '50' }),
      // The feed's own page function, whose plan is pinned to the feed index: the fastest hand-written read of it.
      sql: () => pool.query({ name: 'feed', rowMode: 'array', text: `SELECT ${EVENT_COLUMNS} FROM read_feed_page($1::xid8, $2::bigint, pg_snapshot_xmin(pg_current_snapshot()), 50) e`, values: [midpoint.tx, midpoint.position] }),
    },
    {
      name: "a request's story by correlation",
      browser: () => correlationStory(sources, correlation()),
      // Both queries at once, as the browser sends them.
      sql: () => {
        const id = correlation();
        return Promise.all([
          pool.query({ name: 'correlation', rowMode: 'array', text: STORY_EVENTS_SQL, values: [id] }),
          pool.query({ name: 'commands', text: 'SELECT command_id, command_type, status, causation_id, created_at FROM commands WHERE correlation_id = $1', values: [id] }),
        ]);
      },
    },
    {
      name: "a request's story by trace",
      browser: () => traceStory(sources, trace()),
      sql: async () => {
        const { rows } = await pool.query<{ c: string }>({ name: 'trace', text: 'SELECT DISTINCT correlation_id AS c FROM story_keys WHERE trace_id = $1', values: [trace()] });
        return pool.query({ name: 'correlation', rowMode: 'array', text: STORY_EVENTS_SQL, values: [rows[0]?.c ?? ''] });
      },
    },
  ];
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** A read's p99 (value) beside the SQL's (baseline); for latencies the ratio is baseline / value, so higher is better here too. */
interface Figure {
  result: BenchResult;
  met: boolean;
}

async function runBenchmarks(url: string): Promise<Figure[]> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const db = createPgDb({ connectionString: url, max: 2 });
  try {
    console.error(`  filling the store with ${String(EVENTS)} events`);
    await fill(pool);
    // As the command sweeper keeps it: the story index caught up, then both sides read it.
    const indexing = performance.now();
    const { items } = await indexStories(db, { holder: 'browser-bench', deadline: Date.now() + 600_000 });
    console.error(`  story index: ${String(items)} events in ${String(Math.round((performance.now() - indexing) / 1000))} s`);
    await pool.query('VACUUM ANALYZE story_keys');
    const { rows } = await pool.query<{ tx: string; position: string }>('SELECT tx_id::text AS tx, global_position::text AS position FROM events ORDER BY tx_id, global_position OFFSET $1 LIMIT 1', [EVENTS / 2]);
    const midpoint = rows[0] ?? { tx: '0', position: '0' };
    const { browser } = createServiceRuntime(bankService, { db, dispatcher: (run) => createInProcessDispatcher(run) });
    const figures: Figure[] = [];
    for (const read of reads(browser, pool, midpoint)) {
      const mine: number[] = [];
      const theirs: number[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        mine.push(await timed(read.browser));
        theirs.push(await timed(read.sql));
      }
      const p99 = percentile(mine, 0.99);
      const baseline = percentile(theirs, 0.99);
      const ratio = Math.round((baseline / p99) * 100) / 100;
      const result = { name: `${read.name} (baseline: hand-written SQL, same rows)`, value: Math.round(p99 * 100) / 100, unit: 'ms p99', baseline: Math.round(baseline * 100) / 100, ratio };
      figures.push({ result, met: ratio >= TARGET_RATIO && p99 < TARGET_MS });
    }
    return figures;
  } finally {
    await db.close();
    await pool.end();
  }
}

function format(figures: readonly Figure[]): string {
  const header = ['read', 'p99 ms', 'SQL p99 ms', 'ratio', 'met'];
  const rows = figures.map(({ result, met }) => [result.name, result.value.toFixed(2), result.baseline.toFixed(2), result.ratio.toFixed(2), met ? 'yes' : 'NO']);
  const missed = figures.filter((figure) => !figure.met).length;
  return [
    ...alignColumns(header, rows, new Set(['p99 ms', 'SQL p99 ms', 'ratio'])),
    '',
    `ratio = the SQL's p99 / the browser's (target >= ${String(TARGET_RATIO)}); and the browser's p99 under ${String(TARGET_MS)} ms.`,
    missed === 0 ? 'All targets met.' : `${String(missed)} of ${String(figures.length)} reads miss a target.`,
  ].join('\n');
}

runBench({
  resultsPath: RESULTS_PATH,
  expected: 'about 3 minutes',
  run: runBenchmarks,
  format,
});
