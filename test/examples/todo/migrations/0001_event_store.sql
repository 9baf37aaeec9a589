-- The service's own table, beside the framework's. The file is named like the
-- framework's first migration on purpose: each set is tracked on its own.
CREATE TABLE todo_priorities (
  name text PRIMARY KEY,
  rank integer NOT NULL UNIQUE
);

INSERT INTO todo_priorities (name, rank) VALUES ('high', 1), ('normal', 2), ('low', 3);
