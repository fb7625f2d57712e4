/**
 * The cycle of depends_on through `id`, as the ids along it (`[FR-1, FR-2, FR-1]`), or undefined
 * when following its dependencies never leads back to it. `dependsOn` gives the declared
 * dependencies of an FR known to the intake (unknown ids have none).
 */
export function cycleThrough(id: string, dependsOn: (id: string) => readonly string[]): string[] | undefined {
  const seen = new Set<string>();
  const walk = (at: string, path: string[]): string[] | undefined => {
    for (const dep of dependsOn(at)) {
      if (dep === id) return [...path, dep];
      if (seen.has(dep)) continue;
      seen.add(dep);
      const found = walk(dep, [...path, dep]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(id, [id]);
}
