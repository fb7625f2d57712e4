/** Failed provider attempts per `model outcome`, summed over what followed (retry, fallback, stop), from the gateway's /metrics. */
export function failedAttempts(metrics: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('llm_gateway_attempts_total{')) continue;
    const model = /\bmodel="([^"]*)"/.exec(line)?.[1];
    const outcome = /\boutcome="([^"]*)"/.exec(line)?.[1];
    const n = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!model || !outcome || outcome === 'ok' || !Number.isFinite(n)) continue;
    const key = `${model} ${outcome}`;
    out.set(key, (out.get(key) ?? 0) + n);
  }
  return out;
}

/**
 * Watches the gateway's failed provider attempts for `agency up`: a vendor outage otherwise shows
 * nothing while the FR sits in "planning" (a trial's relay went away for two minutes; only the
 * gateway's log said so). `check` gives a line when attempts failed since the last check.
 */
export class GatewayWatch {
  private last: Map<string, number> | undefined;

  constructor(private readonly readMetrics: () => Promise<string>) {}

  async check(): Promise<string | undefined> {
    let now: Map<string, number>;
    try {
      now = failedAttempts(await this.readMetrics());
    } catch {
      return undefined;
    }
    const before = this.last;
    this.last = now;
    if (!before) return undefined;
    const news = [...now].map(([key, n]) => [key, n - (before.get(key) ?? 0)] as const).filter(([, d]) => d > 0);
    if (news.length === 0) return undefined;
    const parts = news.map(([key, d]) => {
      const [model, outcome] = key.split(' ');
      return `${model} ${outcome} x${d}`;
    });
    return `model calls failing: ${parts.join(', ')} (retried by the gateway and the agents; llm-gateway.log has the details)`;
  }
}
