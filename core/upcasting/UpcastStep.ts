import type { EventMetadata } from '../eventstore';

/** Turns a payload at one schema version into the next. */
export type PayloadTransform<In extends object = Record<string, unknown>, Out extends object = Record<string, unknown>> = (
  data: In,
  metadata: EventMetadata,
) => Out;

/**
 * One step of an event type's history: events stored as `fromType` at
 * `fromVersion` become `toType` at `toVersion`, their payload passed through `transform`.
 */
export interface UpcastStep {
  fromType: string;
  fromVersion: number;
  toType: string;
  toVersion: number;
  transform: PayloadTransform<object, object>;
}

/**
 * Payloads are stored JSON: a step declares the shape its version was written
 * with, and the registry trusts that declaration when it hands the payload over.
 */
const trustStoredShape = <In extends object, Out extends object>(transform: PayloadTransform<In, Out>) =>
  transform as unknown as PayloadTransform<object, object>;

/** The payload of `type` changed shape between `fromVersion` and the next version. */
export function upcastStep<In extends object, Out extends object>(
  type: string,
  fromVersion: number,
  transform: PayloadTransform<In, Out>,
): UpcastStep {
  return {
    fromType: type,
    fromVersion,
    toType: type,
    toVersion: fromVersion + 1,
    transform: trustStoredShape(transform),
  };
}

/** Events stored as `from` at `fromVersion` are now `to` at `toVersion` (default 1). */
export function renameEventType<In extends object, Out extends object>(
  from: string,
  fromVersion: number,
  to: { type: string; version?: number; transform?: PayloadTransform<In, Out> },
): UpcastStep {
  return {
    fromType: from,
    fromVersion,
    toType: to.type,
    toVersion: to.version ?? 1,
    transform: to.transform ? trustStoredShape(to.transform) : (data) => data,
  };
}
