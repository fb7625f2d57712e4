export const SLUG_MAX_LENGTH = 40;

/**
 * "Add a Farewell() function!" -> "add-a-farewell-function": lowercase a-z0-9 and '-', at most
 * 40 characters, cut between words (`...-do-not-behave-li` read as a typo in a trial); a single
 * word longer than that is cut where it must be.
 */
export function slugify(text: string, maxLength = SLUG_MAX_LENGTH): string {
  const ascii = text
    .normalize('NFKD')
    // Combining marks left by NFKD: "é" -> "e".
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
  const slug = ascii.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (slug.length <= maxLength) return slug;
  const cut = slug.slice(0, maxLength);
  // Cut inside a word: back to the last dash, unless that leaves nothing.
  const atWord = slug[maxLength] === '-' ? cut : cut.slice(0, Math.max(0, cut.lastIndexOf('-')));
  return (atWord || cut).replace(/-+$/, '');
}

/** The job's branch: `agency/<frId>-<slug of title>` (just `agency/<frId>` when the title has no letters or digits). */
export function branchName(frId: string, title: string): string {
  const slug = slugify(title);
  return slug ? `agency/${frId}-${slug}` : `agency/${frId}`;
}

/** A base branch or ref name we are willing to hand to git (never an option, a range or a revision expression). */
export function isSafeRefName(name: string): boolean {
  return (
    /^[A-Za-z0-9._/-]+$/.test(name) &&
    !name.startsWith('-') &&
    !name.startsWith('/') &&
    !name.endsWith('/') &&
    !name.endsWith('.lock') &&
    !name.includes('..') &&
    !name.includes('//') &&
    !name.split('/').some((part) => part.startsWith('.'))
  );
}
