import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { describeError } from '../../core/errors';
import { BatchItemError } from '../../core/processing';

describe('an error as a failure records it', () => {
  it('names the cause when it is an error, also one made in another realm (a vm context, as Jest runs tests in)', () => {
    expect(describeError(new BatchItemError('rates failed on event 1', '1', new TypeError('rate missing')))).toBe('TypeError: rate missing');
    const foreign = runInNewContext('new Error("ENOENT: no such file")') as unknown;
    expect(foreign instanceof Error).toBe(false);
    expect(describeError(new BatchItemError('rates failed on event 1', '1', foreign))).toBe('Error: ENOENT: no such file');
  });

  it('keeps a thrown plain value as the cause, and the wrapper’s own message for a cause that says nothing', () => {
    expect(describeError(new BatchItemError('rates failed on event 1', '1', 'rate missing'))).toBe('rate missing');
    expect(describeError(new BatchItemError('a deposit must be positive', '1', null))).toBe('BatchItemError: a deposit must be positive');
    expect(describeError(new BatchItemError('a deposit must be positive', '1', { field: 'amount' }))).toBe('BatchItemError: a deposit must be positive');
  });
});
