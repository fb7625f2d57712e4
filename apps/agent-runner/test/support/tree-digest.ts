import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One line per entry under `dir` (type, mode, size, sha-256 of a file, a link's target), never
 * following links: compared before and after, it shows whether anything in the tree changed.
 */
export function treeDigest(dir: string): string[] {
  const lines: string[] = [];
  const walk = (abs: string, rel: string): void => {
    const info = lstatSync(abs, { throwIfNoEntry: false });
    if (!info) return;
    const mode = (info.mode & 0o7777).toString(8);
    if (info.isSymbolicLink()) lines.push(`L ${rel} -> ${readlinkSync(abs)}`);
    else if (info.isFile()) lines.push(`F ${rel} ${mode} ${info.size} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`);
    else if (info.isDirectory()) {
      lines.push(`D ${rel} ${mode}`);
      for (const name of readdirSync(abs).sort()) walk(join(abs, name), rel ? `${rel}/${name}` : name);
    } else lines.push(`O ${rel} ${mode}`);
  };
  walk(dir, '');
  return lines;
}
