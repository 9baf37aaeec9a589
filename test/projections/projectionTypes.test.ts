import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RecordedEvent } from '../../core/eventstore';
import { defineProjection, ProjectionDefinitionError, type ProjectionHandlers } from '../../core/projections';

// The type specs are checked by the compiler: `npm test` type-checks this file, and
// an `@ts-expect-error` that no longer meets an error fails the type check.

type LightEvent = { type: 'SwitchedOn'; data: { by: string } } | { type: 'SwitchedOff'; data: Record<string, never> };
const noop = () => Promise.resolve();

describe('projection definitions', () => {
  it('give each handler its own event, and the tables it declared', () => {
    expectTypeOf<Parameters<NonNullable<ProjectionHandlers<LightEvent, 'lights', undefined>['SwitchedOn']>>[0]>().toEqualTypeOf<
      RecordedEvent<{ type: 'SwitchedOn'; data: { by: string } }>
    >();
    defineProjection<LightEvent>()({
      name: 'lights',
      version: 1,
      tables: ['lights'],
      handlers: {
        SwitchedOn: (event, { tables }) => {
          expectTypeOf(event.data.by).toBeString();
          expectTypeOf(tables.lights).toBeString();
          // @ts-expect-error only declared tables exist
          expectTypeOf(tables.switches).toBeString();
        },
      },
    });
  });

  it('refuse a handler for a type outside the union', () => {
    expect(() =>
      defineProjection<LightEvent>()({
        name: 'lights',
        version: 1,
        tables: ['lights'],
        // @ts-expect-error Dimmed is not an event of this union
        handlers: { SwitchedOn: noop, Dimmed: noop },
      }),
    ).not.toThrow();
  });

  it('refuse names that are not safe SQL identifiers, and nonsense versions or partitions', () => {
    const define = (overrides: { name?: string; tables?: string[]; version?: number; partitions?: number }) => () =>
      defineProjection<LightEvent>()({ name: 'lights', version: 1, tables: ['lights'], handlers: { SwitchedOn: noop }, ...overrides });
    for (const name of ['Lights', 'lights"; DROP TABLE events; --', 'a__b', '1st', '', 'x'.repeat(31)]) {
      expect(define({ name }), name).toThrow(ProjectionDefinitionError);
    }
    expect(define({ tables: ['bad-table'] })).toThrow(ProjectionDefinitionError);
    expect(define({ tables: ['lights', 'lights'] })).toThrow(ProjectionDefinitionError);
    expect(define({ version: 0 })).toThrow(ProjectionDefinitionError);
    expect(define({ partitions: 0 })).toThrow(ProjectionDefinitionError);
    expect(define({ partitions: 2.5 })).toThrow(ProjectionDefinitionError);
    expect(define({})).not.toThrow();
  });

  it('refuse a projection that handles nothing, or reads no stream type', () => {
    expect(() => defineProjection<LightEvent>()({ name: 'lights', version: 1, tables: [], handlers: {} })).toThrow(ProjectionDefinitionError);
    expect(() => defineProjection<LightEvent>()({ name: 'lights', version: 1, tables: [], streamTypes: [], handlers: { SwitchedOn: noop } })).toThrow(
      ProjectionDefinitionError,
    );
  });

  it('refuse, given from plain JavaScript, a name that is no text, tables that are no list, and handlers or hooks that are no functions', () => {
    const base = { name: 'lights', version: 1, tables: ['lights'], handlers: { SwitchedOn: noop } };
    const refusals: [string, object][] = [
      ['a name left out', { name: undefined }],
      ['tables left out', { tables: undefined }],
      ['a handler given as its SQL', { handlers: { SwitchedOn: 'INSERT INTO lights' } }],
      ['setup given as its SQL', { setup: 'CREATE TABLE lights (id text)' }],
      ['flush that is no function', { flush: true }],
      ['startBatch that is no function', { startBatch: {} }],
      ['teardown that is no function', { teardown: 'DROP TABLE lights' }],
      ['handlers left out', { handlers: undefined }],
      ['handlers of null', { handlers: null }],
      ['handlers given as a list, read as a handler of type "0"', { handlers: [noop] }],
      ['a handler of a type no event can have', { handlers: { '': noop } }],
    ];
    for (const [label, overrides] of refusals) {
      const definition = { ...base, ...overrides } as unknown as Parameters<ReturnType<typeof defineProjection<LightEvent>>>[0];
      expect(() => defineProjection<LightEvent>()(definition), label).toThrow(ProjectionDefinitionError);
    }
    expect(() => defineProjection<LightEvent>()(null as never)).toThrow(ProjectionDefinitionError);
  });

  it('refuse stream types that are no list of names PostgreSQL can hold, which would fail every read of the build', () => {
    // '' and 201 characters: no stream has such a type, so the build would read nothing, as from an empty list.
    for (const streamTypes of [['light\u0000switch'], ['light\uD800'], 'light', [''], ['x'.repeat(201)]]) {
      expect(() => defineProjection<LightEvent>()({ name: 'lights', version: 1, tables: [], streamTypes: streamTypes as string[], handlers: { SwitchedOn: noop } }), JSON.stringify(streamTypes)).toThrow(
        ProjectionDefinitionError,
      );
    }
  });
});
