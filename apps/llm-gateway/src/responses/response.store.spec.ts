import { ResponseStore, type StoredResponse } from './response.store.js';

const stored = (owner: string, n: number): StoredResponse => ({
  owner,
  response: { id: `resp_${n}`, text: 'x'.repeat(100) },
  conversation: [{ role: 'user', content: `q${n}` }],
  items: new Map([[`msg_${n}`, { role: 'assistant', content: `a${n}` }]]),
});

describe('ResponseStore', () => {
  it('gives a response and its items to the key that made them only', () => {
    const store = new ResponseStore();
    store.put('resp_1', stored('agents', 1));
    expect(store.response('resp_1', 'agents')?.conversation).toEqual([{ role: 'user', content: 'q1' }]);
    expect(store.item('msg_1', 'agents')).toEqual({ role: 'assistant', content: 'a1' });
    expect(store.response('resp_1', 'tools')).toBeUndefined();
    expect(store.item('msg_1', 'tools')).toBeUndefined();
  });

  it('drops the oldest past its count or byte limit, with their items', () => {
    const store = new ResponseStore();
    store.limits = { responses: 2, bytes: 1_000_000 };
    for (const n of [1, 2, 3]) store.put(`resp_${n}`, stored('agents', n));
    expect([1, 2, 3].map((n) => store.response(`resp_${n}`, 'agents') !== undefined)).toEqual([false, true, true]);
    expect(store.item('msg_1', 'agents')).toBeUndefined();
    store.limits = { responses: 100, bytes: 300 };
    store.put('resp_4', stored('agents', 4));
    expect([2, 3, 4].map((n) => store.response(`resp_${n}`, 'agents') !== undefined)).toEqual([false, false, true]);
  });
});
