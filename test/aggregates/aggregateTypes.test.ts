import { describe, expectTypeOf, it } from 'vitest';
import { defineAggregate, type Deciders, type Evolvers } from '../../core/aggregates';

// These specs are checked by the compiler: `npm test` type-checks this file, and an
// `@ts-expect-error` that no longer meets an error fails the type check.

type LightEvent = { type: 'SwitchedOn'; data: { by: string } } | { type: 'SwitchedOff'; data: Record<string, never> };
type LightCommand = { type: 'SwitchOn'; data: { by: string } } | { type: 'SwitchOff'; data: Record<string, never> };
interface Light {
  on: boolean;
}

const evolve: Evolvers<Light, LightEvent> = {
  SwitchedOn: () => ({ on: true }),
  SwitchedOff: () => ({ on: false }),
};
const decide: Deciders<Light, LightEvent, LightCommand> = {
  SwitchOn: ({ data }) => [{ type: 'SwitchedOn', data }],
  SwitchOff: () => ({ type: 'SwitchedOff', data: {} }),
};

describe('aggregate definitions are checked by the compiler', () => {
  it('accepts one handler per event and command type', () => {
    const light = defineAggregate<Light, LightEvent, LightCommand>({ streamType: 'light', initialState: () => ({ on: false }), evolve, decide });
    expectTypeOf(light.execute).returns.toEqualTypeOf<LightEvent[]>();
  });

  it('gives each handler exactly its own event or command', () => {
    expectTypeOf<Parameters<Evolvers<Light, LightEvent>['SwitchedOn']>[1]>().toEqualTypeOf<{
      type: 'SwitchedOn';
      data: { by: string };
    }>();
    expectTypeOf<Parameters<Deciders<Light, LightEvent, LightCommand>['SwitchOn']>[0]>().toEqualTypeOf<{
      type: 'SwitchOn';
      data: { by: string };
    }>();
  });

  it('refuses a missing evolver', () => {
    // @ts-expect-error SwitchedOff has no evolver
    const missing: Evolvers<Light, LightEvent> = { SwitchedOn: () => ({ on: true }) };
    expectTypeOf(missing).toBeObject();
  });

  it('refuses a missing decider', () => {
    // @ts-expect-error SwitchOff has no decider
    const missing: Deciders<Light, LightEvent, LightCommand> = { SwitchOn: ({ data }) => [{ type: 'SwitchedOn', data }] };
    expectTypeOf(missing).toBeObject();
  });

  it('refuses a handler for a type outside the union', () => {
    defineAggregate<Light, LightEvent, LightCommand>({
      streamType: 'light',
      initialState: () => ({ on: false }),
      // @ts-expect-error Dimmed is not an event of this aggregate
      evolve: { ...evolve, Dimmed: (state: Light) => state },
      decide,
    });
    defineAggregate<Light, LightEvent, LightCommand>({
      streamType: 'light',
      initialState: () => ({ on: false }),
      evolve,
      // @ts-expect-error Dim is not a command of this aggregate
      decide: { ...decide, Dim: () => [] },
    });
  });

  it('refuses a decider that returns an event outside the union', () => {
    const wrong: Deciders<Light, LightEvent, LightCommand> = {
      // @ts-expect-error Exploded is not an event of this aggregate
      SwitchOn: () => [{ type: 'Exploded', data: {} }],
      SwitchOff: () => [],
    };
    const wrongPayload: Deciders<Light, LightEvent, LightCommand> = {
      // @ts-expect-error SwitchedOn needs `by`
      SwitchOn: () => ({ type: 'SwitchedOn', data: {} }),
      SwitchOff: () => [],
    };
    expectTypeOf(wrong).toBeObject();
    expectTypeOf(wrongPayload).toBeObject();
  });
});
