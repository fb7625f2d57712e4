import { failedAttempts, GatewayWatch } from './gateway-watch.js';

const metrics = (unreachable: number, open = 0) =>
  [
    '# HELP llm_gateway_attempts_total Provider attempts',
    '# TYPE llm_gateway_attempts_total counter',
    'llm_gateway_attempts_total{model="relay/model",outcome="ok",next="done",service="llm-gateway"} 12',
    `llm_gateway_attempts_total{model="relay/model",outcome="upstream_unreachable",next="retry",service="llm-gateway"} ${unreachable}`,
    `llm_gateway_attempts_total{model="relay/model",outcome="upstream_unreachable",next="stop",service="llm-gateway"} 1`,
    ...(open ? [`llm_gateway_attempts_total{model="relay/model",outcome="circuit_open",next="fallback",service="llm-gateway"} ${open}`] : []),
    'llm_gateway_requests_total{alias="coder",model="relay/model",status="200",key="agents",service="llm-gateway"} 12',
  ].join('\n');

describe('failedAttempts', () => {
  it('sums the failed attempts per model and outcome, leaving out the good ones', () => {
    expect(failedAttempts(metrics(2, 3))).toEqual(
      new Map([
        ['relay/model upstream_unreachable', 3],
        ['relay/model circuit_open', 3],
      ]),
    );
    expect(failedAttempts('')).toEqual(new Map());
  });
});

describe('GatewayWatch', () => {
  it('says nothing at first and while nothing new fails, then names what failed since the last check', async () => {
    let text = metrics(2);
    const watch = new GatewayWatch(async () => text);
    expect(await watch.check()).toBeUndefined();
    expect(await watch.check()).toBeUndefined();
    text = metrics(5, 4);
    expect(await watch.check()).toBe(
      'model calls failing: relay/model upstream_unreachable x3, relay/model circuit_open x4 (retried by the gateway and the agents; llm-gateway.log has the details)',
    );
    expect(await watch.check()).toBeUndefined();
  });

  it('stays quiet when the gateway cannot be read', async () => {
    const watch = new GatewayWatch(async () => {
      throw new Error('ECONNREFUSED');
    });
    expect(await watch.check()).toBeUndefined();
  });
});
