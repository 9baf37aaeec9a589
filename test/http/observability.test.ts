import { describe, expect, it } from 'vitest';
import { tracingPossible } from '../../functions/observability';

const LAMBDA = { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x' };

describe('tracing', () => {
  it('is possible in Lambda, where X-Ray can receive the traces', () => {
    expect(tracingPossible(LAMBDA)).toBe(true);
  });

  it('is not loaded elsewhere, nor under SAM local, nor when POWERTOOLS_TRACE_ENABLED is false', () => {
    expect(tracingPossible({})).toBe(false);
    expect(tracingPossible({ ...LAMBDA, AWS_SAM_LOCAL: 'true' })).toBe(false);
    expect(tracingPossible({ ...LAMBDA, POWERTOOLS_TRACE_ENABLED: 'False' })).toBe(false);
  });
});
