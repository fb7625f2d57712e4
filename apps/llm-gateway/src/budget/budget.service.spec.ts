import { Clock } from '@agency/messaging';
import type { CallerKey } from '../auth/key-ring.js';
import { BudgetExceededError } from '../chat/chat-errors.js';
import type { BudgetLedger } from './budget-ledger.js';
import { BudgetService, keyBudgetKey } from './budget.service.js';

class FakeLedger {
  spentUsd = new Map<string, number>();
  reads: string[] = [];
  async spent(key: string): Promise<number> {
    this.reads.push(key);
    return this.spentUsd.get(key) ?? 0;
  }
  charge(key: string, usd: number): void {
    this.spentUsd.set(key, (this.spentUsd.get(key) ?? 0) + usd);
  }
}

const NOW = new Date('2026-11-24T10:00:00Z');
class FixedClock extends Clock {
  override now(): Date {
    return NOW;
  }
}

describe('BudgetService', () => {
  let ledger: FakeLedger;
  let budgets: BudgetService;
  const tools: CallerKey = { id: 'tools', budgetUsd: 5, budgetPeriod: 'month' };

  beforeEach(() => {
    ledger = new FakeLedger();
    budgets = new BudgetService(ledger as unknown as BudgetLedger, new FixedClock());
  });

  it('names budget keys by period', () => {
    expect(keyBudgetKey('tools', 'day', NOW)).toBe('key.tools.2026-11-24');
    expect(keyBudgetKey('tools', 'month', NOW)).toBe('key.tools.2026-11');
    expect(keyBudgetKey('tools', 'total', NOW)).toBe('key.tools.total');
  });

  it('answers at once, reading nothing, when no budget applies', () => {
    expect(budgets.check({ caller: { id: 'agents', budgetPeriod: 'total' } }, {})).toEqual([]);
    // An FR without a budget is still charged, so a budget set later starts from the truth.
    expect(budgets.check({ frId: 'FR-7' }, {})).toEqual(['fr.FR-7']);
    expect(ledger.reads).toEqual([]);
  });

  it('checks the key and FR budgets, the header winning over the default', async () => {
    expect(await budgets.check({ caller: tools, frId: 'FR-7', frBudgetUsd: 3 }, { perFrUsd: 1 })).toEqual(['key.tools.2026-11', 'fr.FR-7']);
    ledger.spentUsd.set('fr.FR-7', 1.5);
    await expect(budgets.check({ frId: 'FR-7', frBudgetUsd: 3 }, { perFrUsd: 1 })).resolves.toEqual(['fr.FR-7']);
    await expect(budgets.check({ frId: 'FR-7' }, { perFrUsd: 1 })).rejects.toBeInstanceOf(BudgetExceededError);
    ledger.spentUsd.set('key.tools.2026-11', 5);
    await expect(budgets.check({ caller: tools }, {})).rejects.toThrow(
      'the budget of API key "tools" is used up ($5.00 spent of $5.00, from llm.keys.tools.budget_usd (per month))',
    );
  });

  it('refuses a header above max_per_fr_usd', () => {
    expect(() => budgets.check({ frId: 'FR-7', frBudgetUsd: 100 }, { maxPerFrUsd: 50 })).toThrow(
      'header x-agency-fr-budget-usd asks for $100, more than llm.budgets.max_per_fr_usd ($50)',
    );
  });
});
