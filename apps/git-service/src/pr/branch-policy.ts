import { invalid } from '../forge/forge.errors.js';

export const AGENT_BRANCH_PREFIX = 'agency/';

// The slug after "<FR id>-": what a git ref allows and a shell or URL never needs quoting for.
const SLUG = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_BRANCH_LENGTH = 200;

/**
 * git-service pushes only the agents' own branches, `agency/<FR id>-<slug>` (or `agency/<FR id>`
 * for a title without letters or digits, as agent-runner names them): never the base,
 * never anything a human works on. Throws an `invalid` ForgeError (dead letter) naming the branch.
 */
export function assertAgentBranch(branch: string, expected: { frId: string; base: string }): void {
  const refuse = (why: string) => invalid('BRANCH_REFUSED', `refusing to push branch "${branch}": ${why}`);
  if (branch === expected.base) throw refuse(`it is the base branch of the repository; git-service never pushes to ${expected.base}`);
  if (!branch.startsWith(AGENT_BRANCH_PREFIX))
    throw refuse(`git-service only pushes branches under ${AGENT_BRANCH_PREFIX} (expected ${AGENT_BRANCH_PREFIX}${expected.frId}-<slug>)`);
  if (branch.length > MAX_BRANCH_LENGTH) throw refuse(`longer than ${MAX_BRANCH_LENGTH} characters`);
  const rest = branch.slice(AGENT_BRANCH_PREFIX.length);
  // agent-runner names the branch agency/<FR id> alone when the title has no letter or digit to slug.
  if (rest === expected.frId) return;
  const prefix = `${expected.frId}-`;
  if (!rest.startsWith(prefix)) throw refuse(`it must be ${AGENT_BRANCH_PREFIX}${expected.frId}-<slug> for ${expected.frId}`);
  const slug = rest.slice(prefix.length);
  if (!SLUG.test(slug) || slug.includes('..') || slug.endsWith('.') || slug.endsWith('.lock')) {
    throw refuse(
      'the slug after the FR id must be letters, digits, ".", "_" or "-", start with a letter or digit, and not contain ".." or end in "." or ".lock"',
    );
  }
}
