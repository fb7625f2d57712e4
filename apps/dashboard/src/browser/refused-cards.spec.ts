import type { DashboardOverview, RefusedFrSummary } from '@agency/contracts/browser';
import { renderOverview } from './app.js';

/**
 * The little of the DOM renderOverview uses (createElement, attributes, append, replaceChildren,
 * getElementById), so the board is checked without a browser: the page's e2e tests draw it in
 * Chromium, this checks what the "Refused at intake" column says.
 */
class FakeElement {
  className = '';
  readonly attributes = new Map<string, string>();
  children: (FakeElement | string)[] = [];
  constructor(readonly tagName: string) {}
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }
  append(...nodes: (FakeElement | string)[]): void {
    this.children.push(...nodes);
  }
  replaceChildren(...nodes: (FakeElement | string)[]): void {
    this.children = nodes;
  }
  addEventListener(): void {}
  get textContent(): string {
    return this.children.map((c) => (typeof c === 'string' ? c : c.textContent)).join('');
  }
  /** Every element below this one, depth first. */
  all(): FakeElement[] {
    return this.children.flatMap((c) => (typeof c === 'string' ? [] : [c, ...c.all()]));
  }
  byClass(name: string): FakeElement[] {
    return this.all().filter((e) => e.className.split(' ').includes(name));
  }
}

function page(): Record<string, FakeElement> {
  const roots = Object.fromEntries(['errors', 'counts', 'board', 'queue', 'events'].map((id) => [id, new FakeElement('div')]));
  vi.stubGlobal('document', { createElement: (tag: string) => new FakeElement(tag), getElementById: (id: string) => roots[id] ?? null });
  return roots;
}

const overview = (refused: RefusedFrSummary[]): DashboardOverview => ({ sagas: [], refused, jobs: [], byState: {}, events: [], live: true, errors: {} });

const unknownRepo: RefusedFrSummary = {
  frId: 'FR-090',
  path: '10_features/03_planned/FR-090-elsewhere.md',
  now: '10_features/09_blocked/FR-090-elsewhere.md',
  code: 'INVALID',
  reason: 'repo acme/unknown is not in 40_config/agency.yaml',
  at: '2026-12-01T10:00:00.000Z',
};

describe('the board draws FRs refused at intake as cards of their own', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('shows each refused file with its id (or file name), its badge, where it is now and why', () => {
    const roots = page();
    const held: RefusedFrSummary = {
      frId: 'FR-091',
      path: '10_features/03_planned/FR-091-later.md',
      now: '10_features/03_planned/FR-091-later.md',
      code: 'DEPENDENCY_UNKNOWN',
      reason: 'depends on FR-999, which no file names',
      at: '2026-12-01T10:00:01.000Z',
    };
    const binary: RefusedFrSummary = {
      path: '10_features/03_planned/notes.md',
      now: '10_features/09_blocked/notes.md',
      code: 'BINARY',
      reason: 'the file is not text',
      at: '2026-12-01T10:00:02.000Z',
    };
    renderOverview({}, overview([unknownRepo, held, binary]));

    const [column] = roots.board!.byClass('column-refused');
    expect(column?.children[0]).toMatchObject({ tagName: 'h3', textContent: 'Refused at intake (3)' });
    const cards = column!.byClass('refused');
    expect(cards.map((c) => c.attributes.get('data-refused'))).toEqual(['FR-090', 'FR-091', '10_features/03_planned/notes.md']);
    expect(cards.map((c) => c.byClass('card-head')[0]!.textContent)).toEqual(['FR-090 refused', 'FR-091 held', 'notes.md refused']);
    expect(cards.map((c) => c.byClass('card-meta')[0]!.textContent)).toEqual([unknownRepo.now, held.now, binary.now]);
    expect(cards[0]!.byClass('card-failure')[0]!.textContent).toBe('INVALID: repo acme/unknown is not in 40_config/agency.yaml');
    expect(cards[1]!.byClass('card-failure')[0]!.textContent).toBe('DEPENDENCY_UNKNOWN: depends on FR-999, which no file names');
  });

  it('has no refused column when nothing was refused', () => {
    const roots = page();
    renderOverview({}, overview([]));
    expect(roots.board!.byClass('column-refused')).toEqual([]);
    expect(roots.board!.byClass('column').length).toBeGreaterThan(0);
  });
});
