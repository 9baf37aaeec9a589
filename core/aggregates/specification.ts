import assert from 'node:assert/strict';
import type { EventShape } from '../eventstore';
import type { Aggregate, CommandShape } from './defineAggregate';
import { DomainError } from './DomainError';

export interface WhenStep<State, Event extends EventShape> {
  /** Asserts the command produced exactly these events, in order. */
  thenEvents(expected: readonly Event[]): State;
  /** Asserts a business rule refused the command. */
  thenRejects(rule: string): DomainError;
}

export interface GivenStep<State, Event extends EventShape, Command extends CommandShape> {
  when(command: Command): WhenStep<State, Event>;
}

/**
 * Given/when/then for aggregates, without a database: given these past events,
 * when this command, then these new events (returning the state after them) or
 * this refused rule. Failures throw assertion errors with a diff, for any test runner.
 */
export function specification<State, Event extends EventShape, Command extends CommandShape>(
  aggregate: Aggregate<State, Event, Command>,
) {
  return {
    given(history: readonly Event[]): GivenStep<State, Event, Command> {
      const state = aggregate.apply(aggregate.initialState(), history);
      return {
        when(command) {
          const run = () => aggregate.execute(command, state);
          return {
            thenEvents(expected) {
              const produced = run();
              assert.deepStrictEqual(produced, [...expected]);
              return aggregate.apply(state, produced);
            },
            thenRejects(rule) {
              let outcome: unknown;
              try {
                outcome = run();
              } catch (error) {
                if (!(error instanceof DomainError)) throw error;
                assert.equal(error.rule, rule, `expected rule ${rule} to refuse the command, but ${error.rule} did`);
                return error;
              }
              assert.fail(`expected rule ${rule} to refuse the command, but it produced ${JSON.stringify(outcome)}`);
            },
          };
        },
      };
    },
  };
}
