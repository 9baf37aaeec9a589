-- Partitioned work (projections, the outbox publisher) shares one partition function
-- and one lease table, so every consumer of the feed splits streams the same way.

-- hash(stream_id) mod N, never negative. IMMUTABLE so it can be inlined and indexed.
CREATE FUNCTION stream_partition(p_stream_id text, p_partitions integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ((hashtextextended(p_stream_id, 0) & 9223372036854775807) % p_partitions)::integer;

-- One row per partition of a lease group. A holder owns a partition until expires_at;
-- epoch grows with every acquisition, so a holder that lost its lease can be fenced off.
CREATE TABLE partition_leases (
  lease_group  text NOT NULL CHECK (length(lease_group) BETWEEN 1 AND 200),
  partition    integer NOT NULL CHECK (partition >= 0),
  holder       text,
  epoch        bigint NOT NULL DEFAULT 0,
  expires_at   timestamptz NOT NULL DEFAULT '-infinity',
  acquired_at  timestamptz,
  PRIMARY KEY (lease_group, partition)
);
