import { PortConfigError, portVariable, stackPorts } from './stack-ports.js';

describe('stackPorts', () => {
  it('lays the eight processes out from 7100 by default, the orchestrator first and the dashboard last', () => {
    expect(stackPorts(undefined, {})).toEqual({
      orchestrator: 7100,
      router: 7101,
      registry: 7102,
      'agent-runner': 7103,
      reviewer: 7104,
      'git-service': 7105,
      'llm-gateway': 7106,
      dashboard: 7107,
    });
  });

  it('moves them all with --port-base, or AGENCY_PORT_BASE when the option is not given', () => {
    expect(stackPorts('7200', {}).orchestrator).toBe(7200);
    expect(stackPorts('7200', {})['llm-gateway']).toBe(7206);
    expect(stackPorts(undefined, { AGENCY_PORT_BASE: '9000' }).dashboard).toBe(9007);
    expect(stackPorts('7300', { AGENCY_PORT_BASE: '9000' }).orchestrator).toBe(7300);
  });

  it('moves one process with its own variable, over the base', () => {
    expect(portVariable('agent-runner')).toBe('AGENT_RUNNER_HTTP_PORT');
    const ports = stackPorts('7200', { LLM_GATEWAY_HTTP_PORT: '8080', DASHBOARD_HTTP_PORT: '3000' });
    expect(ports).toMatchObject({ orchestrator: 7200, 'llm-gateway': 8080, dashboard: 3000 });
  });

  it('refuses a port base that is not a whole number in range, naming where it came from', () => {
    for (const bad of ['abc', '72.5', '-1', '80', '65530', ' ']) {
      expect(() => stackPorts(bad, {}), bad).toThrow(PortConfigError);
      expect(() => stackPorts(bad, {}), bad).toThrow(
        `--port-base must be a whole number from 1024 to 65528 (the stack listens on it and the 7 ports after it), got "${bad}"`,
      );
    }
    expect(() => stackPorts(undefined, { AGENCY_PORT_BASE: 'x' })).toThrow('AGENCY_PORT_BASE must be a whole number');
  });

  it("refuses a service's own port that is not a port, naming the variable", () => {
    expect(() => stackPorts(undefined, { ROUTER_HTTP_PORT: '70000' })).toThrow('ROUTER_HTTP_PORT must be a port number from 1 to 65535, got "70000"');
  });

  it('refuses two processes on one port, naming both', () => {
    expect(() => stackPorts('7200', { DASHBOARD_HTTP_PORT: '7200' })).toThrow(/^orchestrator and dashboard would both listen on 7200: give each its own port/);
  });

  it('refuses HTTP_PORT, which cannot say which of the eight it means, instead of ignoring it', () => {
    expect(() => stackPorts(undefined, { HTTP_PORT: '8080' })).toThrow(
      /^HTTP_PORT=8080 names one service's port, but agency up starts eight processes: use --port-base N \(or AGENCY_PORT_BASE\) to move them all, or one of ORCHESTRATOR_HTTP_PORT, .*DASHBOARD_HTTP_PORT to move one$/,
    );
  });
});
