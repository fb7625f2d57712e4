/** Small checks for model answers; each failure names the field, so the repair prompt can say what to fix. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

export function asObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ShapeError(`${where} must be a JSON object`);
  return value as Record<string, unknown>;
}

export function asString(value: unknown, where: string, options: { min?: number; max?: number } = {}): string {
  if (typeof value !== 'string') throw new ShapeError(`${where} must be a string`);
  const min = options.min ?? 0;
  if (value.trim().length < min) throw new ShapeError(min === 1 ? `${where} must not be empty` : `${where} must have at least ${min} characters`);
  if (options.max !== undefined && value.length > options.max) throw new ShapeError(`${where} must be at most ${options.max} characters (got ${value.length})`);
  return value;
}

export function asArray(value: unknown, where: string, options: { min?: number; max?: number } = {}): unknown[] {
  if (!Array.isArray(value)) throw new ShapeError(`${where} must be an array`);
  if (options.min !== undefined && value.length < options.min) throw new ShapeError(`${where} must have at least ${options.min} item(s)`);
  if (options.max !== undefined && value.length > options.max) throw new ShapeError(`${where} must have at most ${options.max} items (got ${value.length})`);
  return value;
}

export function asStringArray(value: unknown, where: string, options: { max?: number; itemMax?: number } = {}): string[] {
  return asArray(value, where, options.max !== undefined ? { max: options.max } : {}).map((v, i) =>
    asString(v, `${where}[${i}]`, options.itemMax !== undefined ? { max: options.itemMax } : {}),
  );
}
