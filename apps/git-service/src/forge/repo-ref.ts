import { invalid } from './forge.errors.js';

export type ForgeKind = 'local' | 'github';

/** A repository on a forge, as every forge operation needs it. */
export interface ForgeRepoRef {
  /** owner/name */
  name: string;
  owner: string;
  repo: string;
  /** Where git-service's mirror is cloned from. */
  cloneUrl: string;
  base: string;
  forge: ForgeKind;
}

// Each part becomes a directory name on the local forge and in the mirrors: no "..", no separators.
const PART = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

export function repoRef(input: { name: string; cloneUrl: string; base: string; forge: ForgeKind }): ForgeRepoRef {
  const parts = input.name.split('/');
  if (parts.length !== 2 || !parts.every((p) => PART.test(p) && !p.endsWith('.git') && !p.includes('..'))) {
    throw invalid('REPO_NAME_INVALID', `repository "${input.name}" must be "<owner>/<name>" (letters, digits, "_", ".", "-")`);
  }
  checkCloneUrl(input.cloneUrl);
  return { name: input.name, owner: parts[0]!, repo: parts[1]!, cloneUrl: input.cloneUrl, base: input.base, forge: input.forge };
}

/** A URL git could be tricked with (an option, a transport helper like ext::) is refused before git sees it. */
export function checkCloneUrl(url: string): void {
  if (url.startsWith('-') || /^[a-z0-9+.-]+::/i.test(url) || /[\0\n\r]/.test(url)) {
    throw invalid('CLONE_URL_REFUSED', `clone URL "${url}" is refused: options and transport helpers (<transport>::) are not allowed`);
  }
}
