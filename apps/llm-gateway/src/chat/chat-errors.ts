/** The caller asked for an alias agency.yaml does not define. */
export class UnknownModelError extends Error {
  constructor(
    readonly alias: string,
    readonly known: string[],
  ) {
    super(`The model \`${alias}\` does not exist; the gateway serves the aliases ${known.map((k) => `\`${k}\``).join(', ') || '(none)'}.`);
    this.name = 'UnknownModelError';
  }
}

/** The caller's key may not use this alias (llm.keys.<id>.models). */
export class ModelNotAllowedError extends Error {
  constructor(
    readonly keyId: string,
    readonly alias: string,
    readonly allowed: readonly string[],
  ) {
    super(`The API key "${keyId}" may not use the model \`${alias}\`; it may use ${allowed.map((a) => `\`${a}\``).join(', ') || 'no model'}.`);
    this.name = 'ModelNotAllowedError';
  }
}

/** Dollars readable at any size: cents above a cent, three significant digits below. */
export function formatUsd(usd: number): string {
  return `$${usd >= 0.01 || usd === 0 ? usd.toFixed(2) : String(Number(usd.toPrecision(3)))}`;
}

/** A spend budget is used up: the message says which one, how much is spent and the limit. */
export class BudgetExceededError extends Error {
  constructor(
    /** "fr" or "key". */
    readonly budget: 'fr' | 'key',
    /** The FR id or the key id. */
    readonly owner: string,
    readonly spentUsd: number,
    readonly limitUsd: number,
    /** Where the limit comes from, e.g. "llm.budgets.per_fr_usd". */
    readonly source: string,
  ) {
    const what = budget === 'fr' ? `the budget of ${owner}` : `the budget of API key "${owner}"`;
    super(
      `Budget exceeded: ${what} is used up (${formatUsd(spentUsd)} spent of ${formatUsd(limitUsd)}, from ${source}). No more model calls are made for it until the budget is raised.`,
    );
    this.name = 'BudgetExceededError';
  }
}
