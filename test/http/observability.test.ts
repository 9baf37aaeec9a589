import { describe, expect, it } from 'vitest';
import { xrayTracingEnabled } from '../../functions/observability';

const LAMBDA = { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x' };

describe('the X-Ray tracer', () => {
  it('is loaded in Lambda when POWERTOOLS_TRACE_ENABLED is true', () => {
    expect(xrayTracingEnabled({ ...LAMBDA, POWERTOOLS_TRACE_ENABLED: 'true' })).toBe(true);
    expect(xrayTracingEnabled({ ...LAMBDA, POWERTOOLS_TRACE_ENABLED: 'TRUE' })).toBe(true);
  });

  it('is not loaded by default, nor outside Lambda, nor under SAM local, nor when POWERTOOLS_TRACE_ENABLED is anything else', () => {
    expect(xrayTracingEnabled(LAMBDA)).toBe(false);
    expect(xrayTracingEnabled({ POWERTOOLS_TRACE_ENABLED: 'true' })).toBe(false);
    expect(xrayTracingEnabled({ ...LAMBDA, AWS_SAM_LOCAL: 'true', POWERTOOLS_TRACE_ENABLED: 'true' })).toBe(false);
    expect(xrayTracingEnabled({ ...LAMBDA, POWERTOOLS_TRACE_ENABLED: 'false' })).toBe(false);
  });
});
