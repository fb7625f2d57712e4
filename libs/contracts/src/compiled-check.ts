import { getMetadataStorage, ValidationTypes, type MetadataStorage, type ValidationArguments } from 'class-validator';

type ValidationMetadata = ReturnType<MetadataStorage['getTargetValidationMetadatas']>[number];

/** Whether a plain JSON value passes a class's decorators; the object the validators see is `raw` itself. */
export type CompiledCheck = (raw: Record<string, unknown>) => boolean;

interface PropertyCheck {
  property: string;
  /** IsOptional and ValidateIf: all must hold for the validators to run. */
  conditions: Array<(object: object, value: unknown) => boolean>;
  validators: Array<{
    validate(value: unknown, args: ValidationArguments): unknown;
    constraints: unknown[];
    validateIf?: (object: object, value: unknown) => boolean;
  }>;
}

/** Metadata kinds a compiled check reproduces; anything else (nested, each, async, groups) is left to class-validator. */
function supported(m: ValidationMetadata): boolean {
  if (m.each || m.always !== undefined || m.groups?.length || m.context !== undefined) return false;
  return m.type === ValidationTypes.CUSTOM_VALIDATION || m.type === ValidationTypes.CONDITIONAL_VALIDATION;
}

/**
 * Compiles the class-validator decorators of `cls` into one function, for a message sent once per
 * request (the gateway's usage event), whose validation by validateSync costs more than the rest of
 * the request's bookkeeping: validateSync looks the class's metadata up again on every call (a walk
 * over every registered class), builds an error object per property and needs plainToInstance
 * first. The compiled check calls the same constraint validators with the same arguments, on the
 * parsed JSON as it is: for JSON values plainToInstance changes nothing a validator looks at (no
 * @Type, no implicit conversion), and properties the class does not declare are ignored, as
 * whitelisting strips them. Undefined when a decorator is outside what it reproduces (nested
 * objects, `each`, async, groups, defaults set by the class): such a class is validated by
 * class-validator alone.
 */
export function compileCheck(cls: new () => object): CompiledCheck | undefined {
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(cls, '', false, false, undefined);
  if (metadatas.length === 0 || !metadatas.every(supported)) return undefined;
  // A default value set by the class would survive plainToInstance for a missing property.
  const blank = new cls() as Record<string, unknown>;
  if (Object.values(blank).some((v) => v !== undefined)) return undefined;
  const byProperty = new Map<string, PropertyCheck>();
  for (const m of metadatas) {
    let p = byProperty.get(m.propertyName);
    if (!p) byProperty.set(m.propertyName, (p = { property: m.propertyName, conditions: [], validators: [] }));
    if (m.type === ValidationTypes.CONDITIONAL_VALIDATION) {
      p.conditions.push(m.constraints[0] as (object: object, value: unknown) => boolean);
      continue;
    }
    for (const c of storage.getTargetValidatorConstraints(m.constraintCls)) {
      if (c.async) return undefined;
      const instance = c.instance as PropertyCheck['validators'][number];
      p.validators.push({ validate: (v, a) => instance.validate(v, a), constraints: m.constraints, validateIf: m.validateIf });
    }
  }
  const properties = [...byProperty.values()];
  const targetName = cls.name;
  return (raw) => {
    for (const { property, conditions, validators } of properties) {
      const value = Object.hasOwn(raw, property) ? raw[property] : undefined;
      if (!conditions.every((c) => c(raw, value))) continue;
      for (const v of validators) {
        if (v.validateIf && !v.validateIf(raw, value)) continue;
        if (!v.validate(value, { targetName, property, object: raw, value, constraints: v.constraints })) return false;
      }
    }
    return true;
  };
}

/**
 * The object validateSync and plainToInstance make of `raw` once it passed: an instance of `cls`
 * with the declared properties `raw` has (the others stripped, as whitelisting does).
 */
export function instanceOf<T extends object>(cls: new () => T, raw: Record<string, unknown>, properties: readonly string[]): T {
  const out = new cls() as Record<string, unknown>;
  for (const p of properties) if (Object.hasOwn(raw, p)) out[p] = raw[p];
  return out as T;
}

/** The properties `cls` declares with decorators, in their order. */
export function declaredProperties(cls: new () => object): string[] {
  return [
    ...new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(cls, '', false, false, undefined)
        .map((m) => m.propertyName),
    ),
  ];
}
