const assert = require('node:assert/strict');
const { test } = require('node:test');
const pLimit = require('../index.js');

/** A function that runs until released, recording how many ran at once. */
function gate(state) {
  return () =>
    new Promise((resolve) => {
      state.running += 1;
      state.max = Math.max(state.max, state.running);
      state.release.push(() => {
        state.running -= 1;
        resolve();
      });
    });
}
const tick = () => new Promise((r) => setImmediate(r));

test('concurrency reads the limit and validates a new one', () => {
  const limit = pLimit(2);
  assert.equal(limit.concurrency, 2);
  limit.concurrency = 5;
  assert.equal(limit.concurrency, 5);
  limit.concurrency = Infinity;
  assert.equal(limit.concurrency, Infinity);
  for (const bad of [0, -1, 1.5, '2', null]) assert.throws(() => { limit.concurrency = bad; }, TypeError);
  assert.equal(limit.concurrency, Infinity);
});

test('raising the limit starts queued functions at once', async () => {
  const state = { running: 0, max: 0, release: [] };
  const limit = pLimit(1);
  const all = Array.from({ length: 5 }, () => limit(gate(state)));
  await tick();
  assert.equal(state.running, 1);
  limit.concurrency = 3;
  await tick();
  assert.equal(state.running, 3);
  assert.equal(limit.activeCount, 3);
  assert.equal(limit.pendingCount, 2);
  while (state.release.length > 0) {
    state.release.shift()();
    await tick();
  }
  await Promise.all(all);
  assert.equal(state.max, 3);
});

test('lowering the limit starts nothing new until fewer run', async () => {
  const state = { running: 0, max: 0, release: [] };
  const limit = pLimit(3);
  const all = Array.from({ length: 6 }, () => limit(gate(state)));
  await tick();
  assert.equal(state.running, 3);
  limit.concurrency = 1;
  state.release.shift()();
  await tick();
  state.release.shift()();
  await tick();
  assert.equal(state.running, 1);
  state.release.shift()();
  await tick();
  assert.equal(state.running, 1);
  while (state.release.length > 0) {
    state.release.shift()();
    await tick();
  }
  await Promise.all(all);
});
