import { describe, expectTypeOf, it } from 'vitest';
import type { RecordedEvent } from '../../core/eventstore';
import { defineSaga, type SagaReaction } from '../../core/sagas';

// These specs are checked by the compiler: `npm test` type-checks this file, and an
// `@ts-expect-error` that no longer meets an error fails the type check.

type OrderEvent = { type: 'OrderPlaced'; data: { orderId: string } } | { type: 'PaymentTaken'; data: { orderId: string; amount: number } };
type OrderCommand = { type: 'ReserveStock'; payload: { orderId: string } } | { type: 'ShipOrder'; payload: { orderId: string } };
type OrderTimeout = { type: 'PaymentOverdue'; data: Record<string, never> } | { type: 'ShippingOverdue'; data: { days: number } };
interface OrderState {
  orderId: string;
  paid: boolean;
}
type Reaction = SagaReaction<OrderState, OrderCommand, OrderTimeout>;

const orderSaga = defineSaga<OrderEvent, OrderState, OrderCommand, OrderTimeout>();
const started = (orderId: string): Reaction => ({ state: { orderId, paid: false } });
const on = {
  OrderPlaced: { correlate: (event: RecordedEvent<Extract<OrderEvent, { type: 'OrderPlaced' }>>) => event.data.orderId, start: (event: RecordedEvent<Extract<OrderEvent, { type: 'OrderPlaced' }>>) => started(event.data.orderId) },
  PaymentTaken: {
    correlate: (event: RecordedEvent<Extract<OrderEvent, { type: 'PaymentTaken' }>>) => event.data.orderId,
    handle: (_event: RecordedEvent<Extract<OrderEvent, { type: 'PaymentTaken' }>>, state: OrderState): Reaction => ({ state: { ...state, paid: true } }),
  },
};
const timeouts = {
  PaymentOverdue: (_timeout: Extract<OrderTimeout, { type: 'PaymentOverdue' }>, state: OrderState): Reaction => ({ state, outcome: 'compensate' }),
  ShippingOverdue: (timeout: Extract<OrderTimeout, { type: 'ShippingOverdue' }>, state: OrderState): Reaction => ({ state, reason: String(timeout.data.days) }),
};

describe('saga definitions are checked by the compiler', () => {
  it('accepts one handler per event type and per timeout type', () => {
    const saga = orderSaga({ name: 'orders', stateVersion: 1, on, timeouts });
    expectTypeOf(saga.eventTypes).toEqualTypeOf<readonly string[]>();
  });

  it('refuses a missing event handler', () => {
    // @ts-expect-error PaymentTaken has no handler
    const saga = orderSaga({ name: 'orders', stateVersion: 1, on: { OrderPlaced: on.OrderPlaced }, timeouts });
    expectTypeOf(saga).toBeObject();
  });

  it('refuses a handler for an event outside the union', () => {
    const saga = orderSaga({
      name: 'orders',
      stateVersion: 1,
      // @ts-expect-error OrderCancelled is not an event of the saga
      on: { ...on, OrderCancelled: on.PaymentTaken },
      timeouts,
    });
    expectTypeOf(saga).toBeObject();
  });

  it('refuses a missing timeout handler, and one for a timeout outside the union', () => {
    // @ts-expect-error ShippingOverdue has no handler
    const missing = orderSaga({ name: 'orders', stateVersion: 1, on, timeouts: { PaymentOverdue: timeouts.PaymentOverdue } });
    // @ts-expect-error RefundOverdue is not a timeout of the saga
    const foreign = orderSaga({ name: 'orders', stateVersion: 1, on, timeouts: { ...timeouts, RefundOverdue: timeouts.PaymentOverdue } });
    expectTypeOf(missing).toBeObject();
    expectTypeOf(foreign).toBeObject();
  });

  it('refuses dispatching a command outside the union, and a reaction to one', () => {
    // @ts-expect-error CancelOrder is not a command of the saga
    const dispatching: Reaction = { state: { orderId: 'o', paid: false }, dispatch: [{ command: { type: 'CancelOrder', payload: { orderId: 'o' } } }] };
    const saga = orderSaga({
      name: 'orders',
      stateVersion: 1,
      on,
      timeouts,
      // @ts-expect-error CancelOrder is not a command of the saga
      succeeded: { CancelOrder: (_outcome: unknown, state: OrderState): Reaction => ({ state }) },
    });
    expectTypeOf(dispatching).toBeObject();
    expectTypeOf(saga).toBeObject();
  });

  it('gives each outcome handler its own command', () => {
    orderSaga({
      name: 'orders',
      stateVersion: 1,
      on,
      timeouts,
      refused: {
        ReserveStock: ({ command, error }, state) => {
          expectTypeOf(command).toEqualTypeOf<{ type: 'ReserveStock'; payload: { orderId: string } }>();
          return { state, reason: error.code };
        },
      },
    });
  });
});
