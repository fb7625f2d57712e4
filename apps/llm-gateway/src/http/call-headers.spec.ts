import { callContextFromHeaders, frBudgetFromHeaders, deadlineFromHeaders } from './call-headers.js';
import { ApiError } from './api-error.js';

describe('callContextFromHeaders', () => {
  it('reads FR, job, saga and step', () => {
    expect(
      callContextFromHeaders({ 'x-agency-fr-id': 'FR-54', 'x-agency-job-id': 'job-1', 'x-agency-saga-id': 'saga.1', 'x-agency-step': 'code-r2', other: 'x' }),
    ).toEqual({
      frId: 'FR-54',
      jobId: 'job-1',
      sagaId: 'saga.1',
      step: 'code-r2',
    });
    expect(callContextFromHeaders({})).toEqual({});
    expect(callContextFromHeaders({ 'x-agency-fr-id': '' })).toEqual({});
  });

  it('refuses a malformed header with a 400 naming it', () => {
    const error = (() => {
      try {
        callContextFromHeaders({ 'x-agency-step': 'code r2' });
      } catch (e) {
        return e as ApiError;
      }
    })();
    expect(error).toBeInstanceOf(ApiError);
    expect(error!.openAiBody()).toEqual({
      error: {
        message: 'header x-agency-step may only contain letters, digits, "_", "." and "-" (at most 64)',
        type: 'invalid_request_error',
        param: 'x-agency-step',
        code: 'invalid_header',
      },
    });
    expect(() => callContextFromHeaders({ 'x-agency-fr-id': 'fr-1' })).toThrow('header x-agency-fr-id must look like FR-123');
    expect(() => callContextFromHeaders({ 'x-agency-job-id': 'j'.repeat(129) })).toThrow('header x-agency-job-id');
    expect(() => callContextFromHeaders({ 'x-agency-fr-id': ['FR-1', 'FR-2'] })).toThrow('header x-agency-fr-id is given 2 times');
  });

  it('reads the FR budget header as USD, refusing anything else', () => {
    expect(frBudgetFromHeaders({})).toBeUndefined();
    expect(frBudgetFromHeaders({ 'x-agency-fr-budget-usd': '12.5' })).toBe(12.5);
    expect(() => frBudgetFromHeaders({ 'x-agency-fr-budget-usd': '-1' })).toThrow('header x-agency-fr-budget-usd must be a number of USD like 12.50, got "-1"');
    expect(() => frBudgetFromHeaders({ 'x-agency-fr-budget-usd': 'lots' })).toThrow('got "lots"');
  });

  it('reads the deadline header as milliseconds, refusing anything else', () => {
    expect(deadlineFromHeaders({})).toBeUndefined();
    expect(deadlineFromHeaders({ 'x-agency-deadline-ms': ' 2500 ' })).toBe(2500);
    expect(() => deadlineFromHeaders({ 'x-agency-deadline-ms': '0' })).toThrow(
      'header x-agency-deadline-ms must be a whole number of milliseconds from 1 to 3600000, got "0"',
    );
    expect(() => deadlineFromHeaders({ 'x-agency-deadline-ms': '1.5' })).toThrow('got "1.5"');
    expect(() => deadlineFromHeaders({ 'x-agency-deadline-ms': '3600001' })).toThrow('got "3600001"');
    expect(() => deadlineFromHeaders({ 'x-agency-deadline-ms': ['1', '2'] })).toThrow('header x-agency-deadline-ms is given 2 times');
  });
});
