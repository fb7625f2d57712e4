/** The seven services, in start order (the gateway first: agents call it). */
export const STACK_SERVICES = ['llm-gateway', 'git-service', 'router', 'registry', 'agent-runner', 'reviewer', 'orchestrator'] as const;
export type StackService = (typeof STACK_SERVICES)[number];

/** Every process of a local stack that listens on a port: the seven services and the dashboard. */
export const STACK_PROCESSES = [...STACK_SERVICES, 'dashboard'] as const;
export type StackProcess = (typeof STACK_PROCESSES)[number];

/** `agency up` without --port-base: the ports the README and the k8s manifests name. */
export const DEFAULT_PORT_BASE = 7100;

/** Where each process listens relative to the port base (orchestrator on the base itself). */
export const PORT_OFFSETS: Record<StackProcess, number> = {
  orchestrator: 0,
  router: 1,
  registry: 2,
  'agent-runner': 3,
  reviewer: 4,
  'git-service': 5,
  'llm-gateway': 6,
  dashboard: 7,
};

export const DEFAULT_PORTS = Object.fromEntries(STACK_PROCESSES.map((p) => [p, DEFAULT_PORT_BASE + PORT_OFFSETS[p]])) as Record<StackProcess, number>;
