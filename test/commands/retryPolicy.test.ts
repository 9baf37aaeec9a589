import { describe, expect, it } from 'vitest';
import { DomainError } from '../../core/aggregates';
import { CommandValidationError, DEFAULT_RETRY_POLICY, isTransientFailure, retryDelayMs, withRetry, type RetryPolicy } from '../../core/commands';
import { ConcurrencyError, EventValidationError } from '../../core/eventstore';

const serverError = (code: string) => Object.assign(new Error(`server said ${code}`), { code });

describe('the retry policy', () => {
  it('counts conflicts and failures of the database or the way to it as transient', () => {
    expect(isTransientFailure(new ConcurrencyError('s', 1, 2))).toBe(true);
    for (const code of ['40001', '40P01', '53300', '08006', '57P01']) expect(isTransientFailure(serverError(code))).toBe(true);
    expect(isTransientFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientFailure(Object.assign(new Error('read failed'), { code: 'ECONNRESET' }))).toBe(true);
    // Five capitals like a SQLSTATE, as Node's net module hands pg a write to a socket the server closed.
    expect(isTransientFailure(Object.assign(new Error('write failed'), { errno: -32, code: 'EPIPE', syscall: 'write' }))).toBe(true);
  });

  it('never counts validation, domain or constraint errors as transient', () => {
    expect(isTransientFailure(new DomainError('INSUFFICIENT_FUNDS', 'no'))).toBe(false);
    expect(isTransientFailure(new CommandValidationError([]))).toBe(false);
    expect(isTransientFailure(serverError('23505'))).toBe(false);
    // A statement the server cancelled (its own statement_timeout): each try would run as long again.
    expect(isTransientFailure(serverError('57014'))).toBe(false);
    expect(isTransientFailure('a string')).toBe(false);
  });

  it('never takes a refusal whose words sound like a lost connection for one', () => {
    expect(isTransientFailure(new DomainError('SESSION_CLOSED', 'the WebSocket session is closed'))).toBe(false);
    expect(isTransientFailure(new EventValidationError([{ path: 'messages.0.subject', message: 'chat.ECONNRESET is refused' }]))).toBe(false);
    expect(isTransientFailure(new CommandValidationError([{ path: 'reason', message: 'socket hang up is not a reason' }]))).toBe(false);
  });

  it('backs off exponentially up to the maximum, with full jitter below that ceiling', () => {
    const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 10, maxDelayMs: 70, jitter: false };
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(policy, attempt))).toEqual([10, 20, 40, 70, 70]);
    const jittered = { ...policy, jitter: true };
    expect(retryDelayMs(jittered, 3, () => 0.5)).toBe(20);
    expect(retryDelayMs(jittered, 3, () => 0)).toBe(0);
  });

  it('tries again after transient failures, and gives up after the configured attempts with the last error', async () => {
    const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, attempts: 3, baseDelayMs: 1 };
    let calls = 0;
    const recovered = await withRetry(policy, () => {
      calls += 1;
      return calls < 3 ? Promise.reject(new ConcurrencyError('s', 1, 2)) : Promise.resolve('done');
    });
    expect(recovered).toBe('done');

    calls = 0;
    const exhausted = withRetry(policy, () => {
      calls += 1;
      return Promise.reject(new ConcurrencyError('s', calls, calls + 1));
    });
    await expect(exhausted).rejects.toMatchObject({ expectedVersion: 3 });
    expect(calls).toBe(3);
  });

  it('does not try again after a failure that is not transient', async () => {
    let calls = 0;
    const refused = withRetry(DEFAULT_RETRY_POLICY, () => {
      calls += 1;
      return Promise.reject(new DomainError('ACCOUNT_NOT_OPEN', 'closed'));
    });
    await expect(refused).rejects.toBeInstanceOf(DomainError);
    expect(calls).toBe(1);
  });
});
