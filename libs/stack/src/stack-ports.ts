import { DEFAULT_PORT_BASE, PORT_OFFSETS, STACK_PROCESSES, type StackProcess } from './services.js';

/** The environment's equivalent of `agency up --port-base N`. */
export const PORT_BASE_VARIABLE = 'AGENCY_PORT_BASE';

const LAST_BASE = 65535 - Math.max(...Object.values(PORT_OFFSETS));
/** Each process's port variable, in port order. */
const PORT_VARIABLES = () =>
  [...STACK_PROCESSES]
    .sort((a, b) => PORT_OFFSETS[a] - PORT_OFFSETS[b])
    .map(portVariable)
    .join(', ');

/** A port, or the port base, the person asked for cannot be used as given. */
export class PortConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortConfigError';
  }
}

/** The variable that moves one process of the stack: ORCHESTRATOR_HTTP_PORT, LLM_GATEWAY_HTTP_PORT, DASHBOARD_HTTP_PORT... */
export function portVariable(process: StackProcess): string {
  return `${process.toUpperCase().replace(/-/g, '_')}_HTTP_PORT`;
}

function wholeNumber(value: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(value.trim())) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}

/**
 * Where each process of a local stack listens: base + its offset (orchestrator on the base,
 * dashboard on base + 7), `--port-base` first, else AGENCY_PORT_BASE, else 7100; a
 * `<PROCESS>_HTTP_PORT` variable moves one process. HTTP_PORT names one service's port and
 * cannot say which of the eight is meant, so it is refused rather than silently ignored.
 */
export function stackPorts(portBase: string | undefined, env: NodeJS.ProcessEnv): Record<StackProcess, number> {
  if (env.HTTP_PORT) {
    throw new PortConfigError(
      `HTTP_PORT=${env.HTTP_PORT} names one service's port, but agency up starts eight processes: use --port-base N (or ${PORT_BASE_VARIABLE}) to move them all, or one of ${PORT_VARIABLES()} to move one`,
    );
  }
  const given = portBase ?? env[PORT_BASE_VARIABLE];
  const source = portBase !== undefined ? '--port-base' : PORT_BASE_VARIABLE;
  const base = given === undefined || given === '' ? DEFAULT_PORT_BASE : wholeNumber(given, 1024, LAST_BASE);
  if (base === undefined)
    throw new PortConfigError(`${source} must be a whole number from 1024 to ${LAST_BASE} (the stack listens on it and the 7 ports after it), got "${given}"`);
  const ports = {} as Record<StackProcess, number>;
  for (const p of STACK_PROCESSES) {
    const name = portVariable(p);
    const own = env[name];
    const port = own === undefined || own === '' ? base + PORT_OFFSETS[p] : wholeNumber(own, 1, 65535);
    if (port === undefined) throw new PortConfigError(`${name} must be a port number from 1 to 65535, got "${own}"`);
    ports[p] = port;
  }
  const byPort = new Map<number, StackProcess[]>();
  for (const p of STACK_PROCESSES) byPort.set(ports[p], [...(byPort.get(ports[p]) ?? []), p]);
  const clashes = [...byPort].filter(([, ps]) => ps.length > 1).map(([port, ps]) => `${ps.join(' and ')} would both listen on ${port}`);
  if (clashes.length > 0) throw new PortConfigError(`${clashes.join('; ')}: give each its own port (${PORT_VARIABLES()})`);
  return ports;
}
