/** What a unified diff touches, read from its headers before git applies it. */
export interface PatchPaths {
  /** The `-p` level git apply needs: 1 for `a/` and `b/` prefixes, else 0. */
  strip: 0 | 1;
  /** Every path the patch names (old and new names), without the prefix. */
  paths: string[];
}

/** `--- a/src/x.js\t2024-01-01 ...` -> `a/src/x.js`; quoted names (`"a/with space"`) lose their quotes. */
export function headerPath(rest: string): string {
  let p = rest.split('\t')[0]!.trim();
  if (p.startsWith('"') && p.endsWith('"') && p.length >= 2) p = p.slice(1, -1).replace(/\\(["\\])/g, '$1');
  return p;
}

/**
 * Reads the paths of a unified diff (`diff --git`, `---`/`+++`, rename and copy headers).
 * Throws when the text holds no file header at all, so the model hears it sent no patch.
 */
export function patchPaths(patch: string): PatchPaths {
  const raw: string[] = [];
  const prefixed: boolean[] = [];
  for (const line of patch.split(/\r?\n/)) {
    let m: RegExpExecArray | null;
    if ((m = /^(?:---|\+\+\+) (.+)$/.exec(line))) {
      const p = headerPath(m[1]!);
      if (p === '/dev/null') continue;
      raw.push(p);
      prefixed.push(/^[ab]\//.test(p));
    } else if ((m = /^(?:rename|copy) (?:from|to) (.+)$/.exec(line))) {
      // Already without prefix in git's extended headers.
      raw.push(`\0${headerPath(m[1]!)}`);
    }
  }
  if (raw.length === 0) throw new Error('the patch has no file headers ("--- a/path" and "+++ b/path" lines); send a unified diff');
  const strip: 0 | 1 = prefixed.length > 0 && prefixed.every(Boolean) ? 1 : 0;
  const paths = raw.map((p) => (p.startsWith('\0') ? p.slice(1) : strip === 1 ? p.slice(2) : p));
  return { strip, paths: [...new Set(paths)] };
}
