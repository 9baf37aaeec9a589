import { describe, expect, it } from 'vitest';
import { subjectCovers, withoutCoveredSubjects } from '../../core/publishing/subjectCoverage';

describe('which stream subjects another covers, by NATS wildcards', () => {
  it('a final ">" covers one or more tokens after it, "*" exactly one, a literal itself', () => {
    expect(subjectCovers('bank.>', 'bank.deposits.large')).toBe(true);
    expect(subjectCovers('bank.>', 'bank.>')).toBe(true);
    expect(subjectCovers('bank.>', 'bank')).toBe(false);
    expect(subjectCovers('bank.*', 'bank.deposits')).toBe(true);
    expect(subjectCovers('bank.*', 'bank.deposits.large')).toBe(false);
    expect(subjectCovers('bank.*', 'bank.>')).toBe(false);
    expect(subjectCovers('bank.deposits', 'bank.*')).toBe(false);
    expect(subjectCovers('bank.deposits', 'bank.deposits')).toBe(true);
    expect(subjectCovers('bank.deposits', 'banks.deposits')).toBe(false);
  });

  it('leaves out what another subject of the list covers, and repeats', () => {
    expect(withoutCoveredSubjects(['bank.>', 'bank.deposits.large', 'audit.x', 'bank.>'])).toEqual(['bank.>', 'audit.x']);
    expect(withoutCoveredSubjects(['bank.deposits.large', 'bank.*.large'])).toEqual(['bank.*.large']);
  });
});
