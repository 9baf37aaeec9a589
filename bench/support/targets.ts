import type { Comparison } from './compareInterleaved';

/** A floor on either the ratio to the baseline or the absolute value. */
export interface Target {
  on: 'ratio' | 'value';
  min: number;
}

export interface Measurement extends Comparison {
  /** Absent: a figure shown for information, held to no target. */
  target?: Target;
}

export const APPEND_TARGET: Target = { on: 'ratio', min: 0.75 };
export const SINGLE_APPEND_TARGET: Target = { on: 'ratio', min: 0.85 };
export const COMMAND_TARGET: Target = { on: 'ratio', min: 0.75 };
export const FEED_TARGET: Target = { on: 'value', min: 100_000 };

export function describeTarget({ target, result }: Measurement): string {
  if (target === undefined) return '-';
  return target.on === 'ratio' ? `ratio >= ${target.min}` : `>= ${target.min} ${result.unit}`;
}

export function isTargetMet({ target, result }: Measurement): boolean {
  if (target === undefined) return true;
  return result[target.on] >= target.min;
}
