import { ForgeError } from '../forge/forge.errors.js';
import { assertAgentBranch } from './branch-policy.js';

const expected = { frId: 'FR-054', base: 'main' };

function refusal(branch: string, base = 'main'): ForgeError {
  try {
    assertAgentBranch(branch, { ...expected, base });
  } catch (e) {
    return e as ForgeError;
  }
  throw new Error(`${branch} was accepted`);
}

describe('assertAgentBranch', () => {
  it('accepts agency/<FR id>-<slug>', () => {
    expect(() => assertAgentBranch('agency/FR-054-add-a-farewell', expected)).not.toThrow();
    expect(() => assertAgentBranch('agency/FR-054-v2.1_fix', expected)).not.toThrow();
    // agent-runner's name for a title with nothing to slug.
    expect(() => assertAgentBranch('agency/FR-054', expected)).not.toThrow();
  });

  it.each([
    ['main', 'base branch'],
    ['feature/x', 'only pushes branches under agency/'],
    ['agency', 'only pushes branches under agency/'],
    ['agencyx/FR-054-a', 'only pushes branches under agency/'],
    ['agency/FR-055-other-fr', 'must be agency/FR-054-<slug>'],
    ['agency/FR-0545-x', 'must be agency/FR-054-<slug>'],
    ['agency/FR-05', 'must be agency/FR-054-<slug>'],
    ['agency/FR-054-', 'the slug'],
    ['agency/FR-054-a..b', 'the slug'],
    ['agency/FR-054-x.lock', 'the slug'],
    ['agency/FR-054-x.', 'the slug'],
    ['agency/FR-054-a/b', 'the slug'],
    ['agency/FR-054-a b', 'the slug'],
    ['agency/FR-054--leading-dash', 'the slug'],
  ])('refuses %s, naming it', (branch, why) => {
    const e = refusal(branch);
    expect(e).toBeInstanceOf(ForgeError);
    expect(e.code).toBe('BRANCH_REFUSED');
    expect(e.kind).toBe('invalid');
    expect(e.message).toContain(`"${branch}"`);
    expect(e.message).toContain(why);
  });

  it('refuses the base even when it looks like an agency branch', () => {
    expect(refusal('agency/FR-054-x', 'agency/FR-054-x').message).toContain('base branch');
  });

  it('refuses overlong names', () => {
    expect(refusal(`agency/FR-054-${'a'.repeat(200)}`).message).toContain('longer than 200');
  });
});
