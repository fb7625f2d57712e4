import fc from 'fast-check';
import { ACTIONS, SagaWorld, type Action } from '../../test/support/saga-world.js';

const action: fc.Arbitrary<Action> = fc.record({ action: fc.constantFrom(...ACTIONS), pick: fc.nat(50), variant: fc.nat(50) });
/** Hundreds of generated runs take seconds, more on a busy machine: no timing is tested here. */
const GENEROUS_MS = 180_000;
// Deliveries dominate, so runs get far; every other action is mixed in.
const actions = fc.array(fc.oneof({ weight: 6, arbitrary: action.map((a) => ({ ...a, action: 'deliver' as const })) }, { weight: 4, arbitrary: action }), {
  minLength: 10,
  maxLength: 120,
});

/**
 * The saga over random event sequences: results in any order, redelivered, stale; people's
 * cancels, retries, gates and PR reviews; crashes between saving a transition and carrying out
 * its effects. The invariants: no two effects share an id, no decided effect is lost, at most
 * one open PR per FR, and every run that ends has its clean-up (every job it took freed, no PR
 * of a stopped run left open); every command sent is valid.
 */
describe('saga transitions: properties over random event sequences', () => {
  it(
    'hold their invariants whatever the order, the repeats and the crashes',
    () => {
      fc.assert(
        fc.property(actions, fc.boolean(), (list, keepBranches) => {
          const world = new SagaWorld({ keepBranches });
          for (const a of list) world.act(a);
          world.settle();
          expect(world.violations).toEqual([]);
        }),
        { numRuns: Number(process.env.SAGA_PROPERTY_RUNS ?? 400) },
      );
    },
    GENEROUS_MS,
  );

  it(
    'reach every kind of end in the generated runs (the generator is not stuck at the start)',
    () => {
      const ends = new Set<string>();
      fc.assert(
        fc.property(actions, (list) => {
          const world = new SagaWorld();
          for (const a of list) world.act(a);
          ends.add(world.record.state);
        }),
        // A fixed seed: reaching every end is a property of the generator, and an unseeded run of 400 missed one now
        // and then (CI-style flake, 1 in ~10 on 2026-12-04); the sequences themselves stay random in the test above.
        { numRuns: 400, seed: 20261204 },
      );
      for (const state of ['awaiting-merge', 'done', 'failed', 'blocked', 'cancelled', 'fixing']) expect(ends).toContain(state);
    },
    GENEROUS_MS,
  );
});
