-- Projections: read models built from the global feed, with their checkpoints
-- stored in the same transaction as their effects (see core/projections).

-- One row per projection name; reads go to the active generation's tables.
CREATE TABLE projections (
  name              text PRIMARY KEY CHECK (name ~ '^[a-z](_?[a-z0-9])*$' AND length(name) <= 30),
  active_generation integer,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- A generation is one build of a projection from the start of the feed into
-- tables of its own: a version bump or a rebuild starts the next one, which
-- replaces the active one once every partition has caught up (blue/green).
CREATE TABLE projection_generations (
  name         text NOT NULL REFERENCES projections (name),
  generation   integer NOT NULL CHECK (generation > 0),
  version      integer NOT NULL CHECK (version > 0),
  partitions   integer NOT NULL CHECK (partitions BETWEEN 1 AND 1024),
  -- The read-model tables this build owns (base names), dropped when it is torn down.
  tables       text[] NOT NULL,
  status       text NOT NULL CHECK (status IN ('building', 'active', 'retired')),
  -- Why this build started: the first one, a new version, or a rebuild on demand.
  reason       text NOT NULL CHECK (reason IN ('initial', 'version', 'rebuild')),
  started_at   timestamptz NOT NULL DEFAULT now(),
  activated_at timestamptz,
  retired_at   timestamptz,
  torn_down_at timestamptz,
  PRIMARY KEY (name, generation)
);

-- At most one build in progress per projection: a second rebuild request finds it.
CREATE UNIQUE INDEX projection_generations_one_building ON projection_generations (name) WHERE status = 'building';

-- One row per partition of a generation: its checkpoint and its failure state.
CREATE TABLE projection_partitions (
  name                text NOT NULL,
  generation          integer NOT NULL,
  partition           integer NOT NULL CHECK (partition >= 0),
  checkpoint_tx       xid8 NOT NULL DEFAULT '0',
  checkpoint_position bigint NOT NULL DEFAULT 0,
  events_applied      bigint NOT NULL DEFAULT 0,
  -- Set the first time a batch ended at the visible head of the feed.
  caught_up_at        timestamptz,
  state               text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'failed')),
  attempts            integer NOT NULL DEFAULT 0,
  last_error          text,
  failed_event_id     uuid,
  next_attempt_at     timestamptz,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, generation, partition),
  FOREIGN KEY (name, generation) REFERENCES projection_generations (name, generation)
);
