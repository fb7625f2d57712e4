import { Injectable } from '@nestjs/common';
import { Clock } from '@agency/messaging';
import type { CallerKey } from '../auth/key-ring.js';
import { BudgetExceededError } from '../chat/chat-errors.js';
import type { BudgetPeriod, BudgetSettings } from '../config/access-settings.js';
import { ApiError } from '../http/api-error.js';
import { FR_BUDGET_HEADER } from '../http/call-headers.js';
import { BudgetLedger } from './budget-ledger.js';

/** Budget keys in the agency-budgets bucket. */
export function frBudgetKey(frId: string): string {
  return `fr.${frId}`;
}

export function keyBudgetKey(keyId: string, period: BudgetPeriod, now: Date): string {
  const iso = now.toISOString();
  const bucket = period === 'day' ? iso.slice(0, 10) : period === 'month' ? iso.slice(0, 7) : 'total';
  return `key.${keyId}.${bucket}`;
}

const NO_CHARGES: string[] = [];

export interface BudgetCheck {
  caller?: CallerKey;
  frId?: string;
  /** From the x-agency-fr-budget-usd header. */
  frBudgetUsd?: number;
}

/**
 * Enforces spend budgets before a call and charges them after it: the caller key's budget
 * (llm.keys.<id>.budget_usd per day, month or in total) and the FR's (the x-agency-fr-budget-usd
 * header the orchestrator sends, else llm.budgets.per_fr_usd). A call starts only while every
 * budget that applies has money left; the call that crosses a limit completes, the next is refused.
 * FR spend is counted even without a budget, so a budget set later starts from the truth.
 */
@Injectable()
export class BudgetService {
  constructor(
    private readonly ledger: BudgetLedger,
    private readonly clock: Clock,
  ) {}

  /**
   * Throws (or rejects with) BudgetExceededError naming the budget; gives the budget keys to
   * charge afterwards. Synchronous when no budget applies, so calls without one do not wait.
   */
  check(call: BudgetCheck, settings: BudgetSettings): string[] | Promise<string[]> {
    const frLimit = call.frId ? this.frLimit(call.frBudgetUsd, settings) : undefined;
    if (call.caller?.budgetUsd === undefined && !frLimit) return call.frId ? [frBudgetKey(call.frId)] : NO_CHARGES;
    return this.read(call, frLimit);
  }

  private async read(call: BudgetCheck, limit: { usd: number; source: string } | undefined): Promise<string[]> {
    const charge: string[] = [];
    const key = call.caller;
    if (key?.budgetUsd !== undefined) {
      const k = keyBudgetKey(key.id, key.budgetPeriod, this.clock.now());
      const spent = await this.ledger.spent(k);
      const period = key.budgetPeriod === 'total' ? '' : ` (per ${key.budgetPeriod})`;
      if (spent >= key.budgetUsd) throw new BudgetExceededError('key', key.id, spent, key.budgetUsd, `llm.keys.${key.id}.budget_usd${period}`);
      charge.push(k);
    }
    if (call.frId) {
      const k = frBudgetKey(call.frId);
      if (limit) {
        const spent = await this.ledger.spent(k);
        if (spent >= limit.usd) throw new BudgetExceededError('fr', call.frId, spent, limit.usd, limit.source);
      }
      charge.push(k);
    }
    return charge;
  }

  charge(keys: readonly string[], usd: number): void {
    for (const k of keys) this.ledger.charge(k, usd);
  }

  private frLimit(header: number | undefined, settings: BudgetSettings): { usd: number; source: string } | undefined {
    if (header !== undefined) {
      if (settings.maxPerFrUsd !== undefined && header > settings.maxPerFrUsd) {
        throw ApiError.invalidRequest(
          `header ${FR_BUDGET_HEADER} asks for $${header}, more than llm.budgets.max_per_fr_usd ($${settings.maxPerFrUsd})`,
          FR_BUDGET_HEADER,
          'invalid_header',
        );
      }
      return { usd: header, source: `the ${FR_BUDGET_HEADER} header` };
    }
    return settings.perFrUsd !== undefined ? { usd: settings.perFrUsd, source: 'llm.budgets.per_fr_usd' } : undefined;
  }
}
