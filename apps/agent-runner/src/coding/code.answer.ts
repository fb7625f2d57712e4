import { checkRelativePath, UnsafePathError } from '../files/path-guard.js';
import { asArray, asObject, asString, ShapeError } from '../prompts/shape.js';

export interface CodeAnswer {
  summary: string;
  files: Array<{ path: string; content: string }>;
}

export const CODE_LIMITS = { summary: 5000, files: 200, contentChars: 1_000_000 } as const;

/**
 * Checks the coder's answer: `{summary, files: [{path, content}]}` with at least one file, each
 * path relative, inside the repository and named once. `checkOnDisk` adds the file-system checks
 * (symlinks out of the worktree, directories in the way); its error becomes the field's error.
 */
export function parseCodeAnswer(value: unknown, checkOnDisk: (path: string) => void = () => undefined): CodeAnswer {
  const o = asObject(value, 'the answer');
  const summary = asString(o.summary, 'summary', { min: 1, max: CODE_LIMITS.summary }).trim();
  const seen = new Set<string>();
  const files = asArray(o.files, 'files', { min: 1, max: CODE_LIMITS.files }).map((raw, i) => {
    const f = asObject(raw, `files[${i}]`);
    const rawPath = asString(f.path, `files[${i}].path`, { min: 1 });
    const content = asString(f.content, `files[${i}].content`, { max: CODE_LIMITS.contentChars });
    let path: string;
    try {
      path = checkRelativePath(rawPath);
      checkOnDisk(path);
    } catch (e) {
      if (e instanceof UnsafePathError) throw new ShapeError(`files[${i}].path: ${e.message}`);
      throw e;
    }
    if (seen.has(path)) throw new ShapeError(`files[${i}].path: "${path}" appears more than once; give each file once with its whole content`);
    seen.add(path);
    return { path, content };
  });
  return { summary, files };
}
