const DAY_MS = 24 * 3600_000;

/** The UTC day of a time, as the finished-day indexes (sagas, jobs) name it. */
export function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The days after `last` up to and including `through` (both YYYY-MM-DD), oldest first: what an archival pass catches up on. */
export function daysAfter(last: string, through: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${last}T00:00:00Z`) + DAY_MS; dayOf(new Date(t)) <= through; t += DAY_MS) days.push(dayOf(new Date(t)));
  return days;
}
