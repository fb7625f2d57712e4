import { readFileSync, statSync } from 'node:fs';
import { Injectable } from '@nestjs/common';
import { parse } from 'yaml';
import { parseScript, ScriptError, type LlmScript } from './llm-script.js';

/**
 * Reads and validates script files, again only when a file's modification time changes, so an
 * edited script applies to the next call without a restart. Returns the same object while the
 * file is unchanged.
 */
@Injectable()
export class ScriptFileRepository {
  private readonly cache = new Map<string, { mtimeMs: number; script: LlmScript }>();

  load(file: string): LlmScript {
    let mtimeMs: number;
    let text: string;
    try {
      mtimeMs = statSync(file).mtimeMs;
      const cached = this.cache.get(file);
      if (cached && cached.mtimeMs === mtimeMs) return cached.script;
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ScriptError(file, [`cannot read: ${(e as Error).message}`]);
    }
    let raw: unknown;
    try {
      raw = parse(text, { prettyErrors: true });
    } catch (e) {
      throw new ScriptError(file, [`YAML error: ${(e as Error).message.split('\n')[0]}`]);
    }
    const script = parseScript(raw, file);
    this.cache.set(file, { mtimeMs, script });
    return script;
  }
}
