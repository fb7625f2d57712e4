import { cycleThrough } from './dependencies.js';

describe('cycleThrough', () => {
  const graph = (edges: Record<string, string[]>) => (id: string) => edges[id] ?? [];

  it('finds a cycle through the FR, direct or longer, and names it in order', () => {
    expect(cycleThrough('FR-1', graph({ 'FR-1': ['FR-1'] }))).toEqual(['FR-1', 'FR-1']);
    expect(cycleThrough('FR-1', graph({ 'FR-1': ['FR-2'], 'FR-2': ['FR-3'], 'FR-3': ['FR-1'] }))).toEqual(['FR-1', 'FR-2', 'FR-3', 'FR-1']);
  });

  it('says none when the dependencies end, or when a cycle does not pass through the FR', () => {
    expect(cycleThrough('FR-1', graph({ 'FR-1': ['FR-2', 'FR-9'], 'FR-2': ['FR-3'] }))).toBeUndefined();
    // FR-2 and FR-3 wait on each other, FR-1 only on them: FR-1 is not itself in a cycle.
    expect(cycleThrough('FR-1', graph({ 'FR-1': ['FR-2'], 'FR-2': ['FR-3'], 'FR-3': ['FR-2'] }))).toBeUndefined();
  });
});
