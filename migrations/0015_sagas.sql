-- Sagas (core/sagas): long-running processes across aggregates. A saga processor
-- (a feed processor partitioned by correlation key) starts and advances instances;
-- what an instance decided is stored in the transaction that decided it: its state,
-- the steps (commands) to dispatch and its timeouts. Steps are then dispatched
-- through the command bus with ids derived from the instance and the step number.

CREATE TABLE saga_instances (
  saga           text NOT NULL CHECK (length(saga) BETWEEN 1 AND 100),
  saga_id        text NOT NULL CHECK (length(saga_id) BETWEEN 1 AND 100),
  phase          text NOT NULL CHECK (phase IN ('running', 'compensating', 'completed', 'stuck')),
  state          jsonb NOT NULL,
  -- The shape of `state`: older shapes are upgraded by the saga's definition when loaded.
  state_version  integer NOT NULL CHECK (state_version >= 1),
  -- Bumped by every change: optimistic concurrency for writers that did not lock the row.
  version        integer NOT NULL CHECK (version >= 1),
  next_step      integer NOT NULL DEFAULT 1,
  correlation_id text NOT NULL,
  -- Why it compensates or is stuck: the step and the error.
  failure        jsonb,
  started_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  ended_at       timestamptz,
  PRIMARY KEY (saga, saga_id)
);

CREATE INDEX saga_instances_open ON saga_instances (saga, phase) WHERE phase <> 'completed';

-- Each command an instance dispatches, in order; also the queue the dispatcher and the sweeper work from.
CREATE TABLE saga_steps (
  saga            text NOT NULL,
  saga_id         text NOT NULL,
  step            integer NOT NULL CHECK (step >= 1),
  kind            text NOT NULL CHECK (kind IN ('forward', 'compensation')),
  command_type    text NOT NULL,
  payload         jsonb NOT NULL,
  -- A forward step's undo, run if the saga compensates after it succeeded.
  compensation    jsonb,
  -- A compensation step: the forward step it undoes.
  compensates     integer,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'refused', 'failed', 'retried')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- A dispatcher's claim on the step while it runs the command; an expired claim is taken over.
  claimed_until   timestamptz,
  causation_id    text NOT NULL,
  outcome         jsonb,
  error           jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  settled_at      timestamptz,
  PRIMARY KEY (saga, saga_id, step),
  FOREIGN KEY (saga, saga_id) REFERENCES saga_instances (saga, saga_id) ON DELETE CASCADE
);

CREATE INDEX saga_steps_pending ON saga_steps (next_attempt_at) WHERE status = 'pending';

-- Scheduled timeouts, one per type per instance; fired by the sweeper when due.
CREATE TABLE saga_timeouts (
  saga         text NOT NULL,
  saga_id      text NOT NULL,
  timeout_type text NOT NULL,
  data         jsonb NOT NULL,
  due_at       timestamptz NOT NULL,
  scheduled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (saga, saga_id, timeout_type),
  FOREIGN KEY (saga, saga_id) REFERENCES saga_instances (saga, saga_id) ON DELETE CASCADE
);

CREATE INDEX saga_timeouts_due ON saga_timeouts (due_at);

-- What each instance was given (events, timeouts, step outcomes), once each: the
-- instance's timeline, and why the same input delivered twice changes nothing.
CREATE TABLE saga_inputs (
  saga     text NOT NULL,
  saga_id  text NOT NULL,
  input_id text NOT NULL,
  kind     text NOT NULL CHECK (kind IN ('event', 'timeout', 'step_succeeded', 'step_refused', 'step_failed', 'retry')),
  summary  jsonb NOT NULL,
  applied  boolean NOT NULL,
  at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (saga, saga_id, input_id),
  FOREIGN KEY (saga, saga_id) REFERENCES saga_instances (saga, saga_id) ON DELETE CASCADE
);

-- Inputs no live instance took (an event for an unknown or finished instance, a
-- second start): counted per saga and kind, never an error.
CREATE TABLE saga_unmatched (
  saga       text NOT NULL,
  reason     text NOT NULL,
  count      bigint NOT NULL DEFAULT 0,
  last_input jsonb,
  last_at    timestamptz,
  PRIMARY KEY (saga, reason)
);
