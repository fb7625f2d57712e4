/** Small helpers for validating parsed YAML/JSON by hand, with every problem named by its path. */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "a string", "an array", "null"...: for messages like `must be a number, got a string`. */
export function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** `llm.models.coder`, or `llm.prices["scripted/coder"]` when the key is not a plain word. */
export function childPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const segment = /^[A-Za-z_][\w-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  return base ? `${base}${segment}` : segment.replace(/^\./, '');
}

/** Collects problems so one pass reports all of them, not just the first. */
export class Problems {
  readonly list: string[] = [];

  add(path: string, message: string): void {
    this.list.push(path ? `${path}: ${message}` : message);
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** Flags keys that are not allowed, which are usually typos. */
  unknownKeys(path: string, value: Record<string, unknown>, allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.add(path, `unknown key "${key}" (allowed: ${allowed.join(', ')})`);
    }
  }
}
