-- Feed processors (core/processing): projections, sagas and the NATS publisher all read
-- an ordered source (the events feed, the outbox) from a checkpoint, split into leased
-- partitions. Their checkpoints and failure states live here, one row per partition.

-- One row per processor: where its partitions start, and how many it has.
CREATE TABLE feed_processors (
  name           text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 200),
  -- Fixed at the first registration; changing it needs a new processor (a new name).
  partitions     integer CHECK (partitions BETWEEN 1 AND 1024),
  -- Where new partitions start: the start of the source unless set (see 0014).
  start_tx       xid8 NOT NULL DEFAULT '0',
  start_position bigint NOT NULL DEFAULT 0,
  created_at     timestamptz NOT NULL DEFAULT now(),
  -- Set when the processor is done for good (a projection build replaced by another):
  -- its partitions take no more batches.
  stopped_at     timestamptz
);

CREATE TABLE processor_partitions (
  processor           text NOT NULL REFERENCES feed_processors (name) ON DELETE CASCADE,
  partition           integer NOT NULL CHECK (partition >= 0),
  checkpoint_tx       xid8 NOT NULL DEFAULT '0',
  checkpoint_position bigint NOT NULL DEFAULT 0,
  items_processed     bigint NOT NULL DEFAULT 0,
  -- Set the first time a batch ended at the visible head of the source.
  caught_up_at        timestamptz,
  state               text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'failed')),
  attempts            integer NOT NULL DEFAULT 0,
  last_error          text,
  failed_item_id      text,
  next_attempt_at     timestamptz,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (processor, partition)
);

-- Projections were the first feed processors: each generation is one, named like its lease group.
INSERT INTO feed_processors (name, partitions, stopped_at)
SELECT 'projection:' || g.name || ':g' || g.generation, g.partitions, g.retired_at FROM projection_generations g;

INSERT INTO processor_partitions (
  processor, partition, checkpoint_tx, checkpoint_position, items_processed, caught_up_at,
  state, attempts, last_error, failed_item_id, next_attempt_at, updated_at)
SELECT 'projection:' || p.name || ':g' || p.generation, p.partition, p.checkpoint_tx, p.checkpoint_position,
       p.events_applied, p.caught_up_at, p.state, p.attempts, p.last_error, p.failed_event_id::text,
       p.next_attempt_at, p.updated_at
FROM projection_partitions p;

DROP TABLE projection_partitions;
