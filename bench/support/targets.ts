import type { Comparison } from './compareInterleaved';

/** A floor on the ratio to the baseline or on the value, or a ceiling on the value (a latency). */
export type Target = { on: 'ratio' | 'value'; min: number } | { on: 'value'; max: number };

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
  if ('max' in target) return `<= ${target.max} ${result.unit}`;
  return target.on === 'ratio' ? `ratio >= ${target.min}` : `>= ${target.min} ${result.unit}`;
}

export function isTargetMet({ target, result, exactRatio }: Measurement): boolean {
  if (target === undefined) return true;
  if ('max' in target) return result.value <= target.max;
  return (target.on === 'ratio' ? (exactRatio ?? result.ratio) : result.value) >= target.min;
}
