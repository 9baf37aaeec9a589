import { withPlainPool } from './connections';

// auto_explain logs the plan of every statement a call runs, the query inside a
// PL/pgSQL function too, with the plan PostgreSQL used; at the notice level the
// client receives it.
const EXPLAIN_AS_RUN = [
  "LOAD 'auto_explain'",
  'SET auto_explain.log_min_duration = 0',
  'SET auto_explain.log_nested_statements = on',
  'SET auto_explain.log_analyze = on',
  'SET auto_explain.log_timing = off',
  'SET auto_explain.log_level = notice',
  'SET client_min_messages = notice',
];

// PostgreSQL plans a prepared statement (and a function's query) afresh for its first
// five runs, then may keep a generic plan: the sixth run's plan is the one a catch-up uses.
const RUNS_UNTIL_THE_PLAN_SETTLES = 6;

/** A statement as the side under measure sends it: named when it is prepared. */
export interface MeasuredStatement {
  name?: string;
  text: string;
  values: readonly unknown[];
}

/**
 * Prints to the bench log the plans PostgreSQL ran a statement with, executed
 * on a fresh connection as many times as its plan cache takes to settle: the
 * plan of each query it runs, a function's own query first. EXPLAIN of the
 * statement would show a plan for its first values only, and a function as a
 * function scan.
 */
export async function printPlansAsRun(url: string, label: string, statement: MeasuredStatement): Promise<void> {
  await withPlainPool(url, 1, async (pool) => {
    const client = await pool.connect();
    let plans: string[] = [];
    const collect = (notice: { message?: string | undefined }) => {
      plans.push(notice.message ?? '');
    };
    client.on('notice', collect);
    try {
      for (const setting of EXPLAIN_AS_RUN) await client.query(setting);
      for (let run = 0; run < RUNS_UNTIL_THE_PLAN_SETTLES; run++) {
        plans = [];
        await client.query({ ...(statement.name === undefined ? {} : { name: statement.name }), text: statement.text, values: [...statement.values] });
      }
    } finally {
      client.off('notice', collect);
      // Its settings changed: not handed to anyone else.
      client.release(true);
    }
    const indented = plans.flatMap((plan) => plan.split('\n')).map((line) => `    ${line}`);
    console.error(`  plans of ${label}'s page read, as run the ${RUNS_UNTIL_THE_PLAN_SETTLES}th time:\n${indented.join('\n')}`);
  });
}
