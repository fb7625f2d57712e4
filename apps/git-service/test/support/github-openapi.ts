import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';

// ajv-formats is CommonJS: its function is the default export, or the module itself.
const addFormats = ((addFormatsImport as unknown as { default?: typeof addFormatsImport }).default ?? addFormatsImport) as unknown as (ajv: Ajv) => Ajv;

/** GitHub's published REST description (OpenAPI 3.0), as @octokit/openapi ships it. */
const SPEC_FILE = resolve(import.meta.dirname, '../../../../node_modules/@octokit/openapi/generated/api.github.com.json');

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Json;
}

export interface MatchedOperation {
  method: string;
  /** The path template, e.g. /repos/{owner}/{repo}/pulls/{pull_number}. */
  template: string;
  operationId: string;
  pathParams: Record<string, string>;
  operation: Json;
  pathItem: Json;
}

interface Route {
  method: string;
  template: string;
  regex: RegExp;
  names: string[];
  literals: number;
}

/** A JSON pointer's `$ref` inside the document, turned into one the "gh" schema resolves. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `gh${v}` : rewriteRefs(v)]),
    );
  }
  return value;
}

/** OpenAPI 3.0's `nullable` admits null even next to an `enum`; JSON Schema's enum does not, so null joins the enum. */
function nullableEnums(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(nullableEnums);
  if (!node || typeof node !== 'object') return;
  const o = node as Json;
  if (o.nullable === true && Array.isArray(o.enum) && !o.enum.includes(null)) o.enum = [...o.enum, null];
  for (const v of Object.values(o)) nullableEnums(v);
}

/**
 * Matches requests to operations of GitHub's OpenAPI description and validates them: path
 * parameters, query parameters (unknown ones too) and the JSON body against the operation's
 * schemas; and validates answers against the response schema of their status.
 */
export class GitHubOpenApi {
  private static instance?: GitHubOpenApi;
  private readonly doc: Json & { paths: Record<string, Json>; components: Json };
  private readonly routes: Route[] = [];
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  static load(): GitHubOpenApi {
    GitHubOpenApi.instance ??= new GitHubOpenApi();
    return GitHubOpenApi.instance;
  }

  private constructor() {
    this.doc = JSON.parse(readFileSync(SPEC_FILE, 'utf8')) as GitHubOpenApi['doc'];
    nullableEnums(this.doc);
    // OpenAPI 3.0 schemas: `nullable` is understood by ajv; the document's other keywords (example, x-github...) are not JSON Schema.
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false });
    addFormats(this.ajv);
    this.ajv.addFormat('repo.nwo', /^[^/\s]+\/[^/\s]+$/);
    this.ajv.addSchema({ $id: 'gh', components: this.doc.components }, undefined, undefined, false);
    for (const [template, item] of Object.entries(this.doc.paths)) {
      for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
        if (!item[method]) continue;
        const names: string[] = [];
        const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_m, name: string) => (names.push(name), '([^/]+)'));
        this.routes.push({
          method: method.toUpperCase(),
          template,
          regex: new RegExp(`^${source}$`),
          names,
          literals: template.split('/').filter((s) => s && !s.startsWith('{')).length,
        });
      }
    }
    // A literal segment beats a parameter: /pulls/comments is not /pulls/{pull_number}.
    this.routes.sort((a, b) => b.literals - a.literals);
  }

  match(method: string, path: string): MatchedOperation | undefined {
    for (const r of this.routes) {
      if (r.method !== method.toUpperCase()) continue;
      const m = r.regex.exec(path);
      if (!m) continue;
      const pathItem = this.doc.paths[r.template]!;
      const operation = pathItem[r.method.toLowerCase()] as Json;
      const pathParams = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
      return { method: r.method, template: r.template, operationId: String(operation.operationId), pathParams, operation, pathItem };
    }
    return undefined;
  }

  private resolve<T>(value: unknown): T {
    let v = value as Json;
    while (v && typeof v.$ref === 'string') {
      v = (v.$ref as string)
        .slice(2)
        .split('/')
        .reduce<Json>((node, part) => node[part.replace(/~1/g, '/').replace(/~0/g, '~')] as Json, this.doc);
    }
    return v as T;
  }

  private validator(schema: unknown): ValidateFunction {
    const key = JSON.stringify(schema);
    let v = this.compiled.get(key);
    if (!v) {
      v = this.ajv.compile(rewriteRefs(schema) as Json);
      this.compiled.set(key, v);
    }
    return v;
  }

  private check(schema: unknown, value: unknown, where: string): string[] {
    const v = this.validator(schema);
    if (v(value)) return [];
    return (v.errors ?? []).map(
      (e) => `${where}${e.instancePath} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
    );
  }

  parameters(op: MatchedOperation): Parameter[] {
    return [...((op.pathItem.parameters as unknown[]) ?? []), ...((op.operation.parameters as unknown[]) ?? [])].map((p) => this.resolve<Parameter>(p));
  }

  /** A query or path value as the schema's type wants it (everything arrives as a string). */
  private coerce(schema: Json | undefined, raw: string): unknown {
    const type = schema?.type;
    if (type === 'integer' || type === 'number') return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    if (type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
    return raw;
  }

  /** Every way the request departs from the operation's description; empty when it conforms. */
  validateRequest(op: MatchedOperation, req: { query: URLSearchParams; contentType?: string; rawBody: string }): string[] {
    const problems: string[] = [];
    const params = this.parameters(op);
    for (const p of params.filter((x) => x.in === 'path')) {
      const raw = op.pathParams[p.name];
      if (raw === undefined) problems.push(`path parameter ${p.name} is missing`);
      else problems.push(...this.check(p.schema ?? {}, this.coerce(p.schema, raw), `path parameter ${p.name}`));
    }
    const declared = params.filter((x) => x.in === 'query');
    for (const name of new Set(req.query.keys())) {
      const p = declared.find((x) => x.name === name);
      if (!p) problems.push(`query parameter "${name}" is not a parameter of ${op.operationId}`);
      else problems.push(...this.check(p.schema ?? {}, this.coerce(p.schema, req.query.get(name)!), `query parameter ${name}`));
    }
    for (const p of declared.filter((x) => x.required)) if (!req.query.has(p.name)) problems.push(`required query parameter ${p.name} is missing`);
    const body = op.operation.requestBody
      ? this.resolve<{ required?: boolean; content?: Record<string, { schema?: Json }> }>(op.operation.requestBody)
      : undefined;
    const hasBody = req.rawBody.trim() !== '';
    if (!body) {
      if (hasBody) problems.push(`${op.operationId} takes no request body`);
      return problems;
    }
    if (!hasBody) {
      if (body.required) problems.push(`${op.operationId} requires a JSON body`);
      return problems;
    }
    if (!req.contentType?.startsWith('application/json')) problems.push(`content-type must be application/json, got ${req.contentType ?? 'none'}`);
    let json: unknown;
    try {
      json = JSON.parse(req.rawBody);
    } catch {
      problems.push('the body is not JSON');
      return problems;
    }
    const schema = body.content?.['application/json']?.schema;
    if (schema) problems.push(...this.check(schema, json, 'body'));
    return problems;
  }

  private responseOf(op: MatchedOperation, status: number): { schema?: Json; examples?: Record<string, unknown> } | undefined {
    const r = (op.operation.responses as Json)[String(status)];
    if (!r) return undefined;
    const content = this.resolve<{ content?: Record<string, { schema?: Json; examples?: Record<string, unknown> }> }>(r).content;
    return content?.['application/json'];
  }

  /** Whether the operation documents this status at all. */
  documents(op: MatchedOperation, status: number): boolean {
    return (op.operation.responses as Json)[String(status)] !== undefined;
  }

  /** How an answer departs from the response schema of its status. */
  validateResponse(op: MatchedOperation, status: number, body: unknown): string[] {
    const schema = this.responseOf(op, status)?.schema;
    return schema ? this.check(schema, body, `response ${status} of ${op.operationId}`) : [];
  }

  /** GitHub's own example answer for the status (a deep copy), when the description has one. */
  example(op: MatchedOperation, status: number): unknown {
    const examples = this.responseOf(op, status)?.examples;
    const first = examples ? Object.values(examples)[0] : undefined;
    if (first === undefined) return undefined;
    return structuredClone(this.resolve<{ value?: unknown }>(first).value);
  }

  /** An example of a component schema's object from the description (components/examples/<name>). */
  componentExample(name: string): unknown {
    const ex = (this.doc.components.examples as Json)[name] as { value?: unknown } | undefined;
    return ex ? structuredClone(ex.value) : undefined;
  }

  /** Validates a value against a component schema (components/schemas/<name>). */
  validateComponent(name: string, value: unknown): string[] {
    return this.check({ $ref: `#/components/schemas/${name}` }, value, name);
  }
}
