import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isMap } from 'yaml';
import { FOLDER_STATUS, FR_FOLDERS, type FrFolder } from './layout.js';
import { FrontMatterError, joinFrontMatter, splitFrontMatter } from './front-matter.js';

export const LOG_HEADING = '## Agency log';

export interface FrUpdate {
  /** Move the file to this folder and set its front matter `status` to match. */
  folder?: FrFolder;
  /** Front matter fields to set (null removes a field). */
  fields?: Record<string, string | number | boolean | null>;
  /** One line appended under "## Agency log". */
  log?: string;
  /**
   * The saga's transition this update carries out: the file remembers it (`agency_seq`), and an
   * update of the same saga at or before the number it remembers (a repeat after a crash) moves
   * and annotates the file but appends no second log line.
   */
  seq?: { saga: string; seq: number };
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function appendLog(body: string, line: string): string {
  const trimmed = body.replace(/\s+$/, '');
  const entry = `- ${line.replace(/\r?\n/g, ' ')}`;
  if (trimmed.includes(`\n${LOG_HEADING}\n`) || trimmed.startsWith(`${LOG_HEADING}\n`) || trimmed.endsWith(LOG_HEADING)) {
    // The log is the last section: append to the end of the file.
    return `${trimmed}\n${entry}\n`;
  }
  return `${trimmed}\n\n${LOG_HEADING}\n\n${entry}\n`;
}

/**
 * Moves and annotates an FR file; returns its new vault-relative path. An FR whose front matter
 * does not parse is still moved and gets its log line, with the fields left untouched.
 */
export function updateFr(vaultRoot: string, relPath: string, update: FrUpdate, now: Date = new Date()): string {
  let target = relPath;
  if (update.folder) {
    target = join(FR_FOLDERS[update.folder], basename(relPath));
    if (target !== relPath) {
      const to = join(vaultRoot, target);
      mkdirSync(dirname(to), { recursive: true });
      if (existsSync(to)) throw new Error(`cannot move ${relPath}: ${target} already exists`);
      renameSync(join(vaultRoot, relPath), to);
    }
  }
  const file = join(vaultRoot, target);
  const text = readFileSync(file, 'utf8');
  const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  let out: string;
  try {
    const { doc, body } = splitFrontMatter(text);
    if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as typeof doc.contents;
    const seen = update.seq && doc.get('agency_saga') === update.seq.saga && Number(doc.get('agency_seq')) >= update.seq.seq;
    if (update.folder) doc.set('status', FOLDER_STATUS[update.folder]);
    for (const [k, v] of Object.entries(update.fields ?? {})) {
      if (v === null) doc.delete(k);
      else doc.set(k, v);
    }
    if (update.seq && !seen) doc.set('agency_seq', update.seq.seq);
    out = joinFrontMatter(doc, update.log && !seen ? appendLog(body, `${stamp} ${update.log}`) : body);
  } catch (e) {
    if (!(e instanceof FrontMatterError)) throw e;
    out = update.log ? appendLog(text, `${stamp} ${update.log}`) : text;
  }
  if (out !== text) writeFileAtomic(file, out);
  return target;
}
