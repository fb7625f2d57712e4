import { isMap, parseDocument, type Document } from 'yaml';

export interface SplitDocument {
  /** The YAML document between the `---` fences, comments and order preserved. */
  doc: Document;
  body: string;
}

export class FrontMatterError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'FrontMatterError';
  }
}

const FENCE = /^---[ \t]*$/;

/** Splits `---\nyaml\n---\nbody`; every problem is reported with its line number. */
export function splitFrontMatter(text: string): SplitDocument {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (!FENCE.test(lines[0] ?? '')) throw new FrontMatterError(['front matter: the file must start with a line "---"']);
  const end = lines.findIndex((l, i) => i > 0 && FENCE.test(l));
  if (end < 0) throw new FrontMatterError(['front matter: no closing "---" line']);
  const doc = parseDocument(lines.slice(1, end).join('\n'), { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new FrontMatterError(doc.errors.map((e) => `front matter: YAML error at line ${(e.linePos?.[0]?.line ?? 0) + 1}: ${e.message.split('\n')[0]}`));
  }
  if (doc.contents !== null && !isMap(doc.contents)) throw new FrontMatterError(['front matter: must be a YAML mapping of fields']);
  return { doc, body: lines.slice(end + 1).join('\n') };
}

export function joinFrontMatter(doc: Document, body: string): string {
  const yaml = doc.contents === null ? '' : doc.toString({ lineWidth: 0 });
  return `---\n${yaml.endsWith('\n') || yaml === '' ? yaml : `${yaml}\n`}---\n${body}`;
}
