const assert = require('node:assert/strict');
const { test } = require('node:test');
const leven = require('../index.js');

test('maxDistance caps the distance', () => {
  assert.equal(leven('kitten', 'sitting', { maxDistance: 2 }), 2);
  assert.equal(leven('kitten', 'sitting', { maxDistance: 5 }), 3);
  assert.equal(leven('abcdef', '123456', { maxDistance: 3 }), 3);
  assert.equal(leven('', 'abc', { maxDistance: 1 }), 1);
  assert.equal(leven('a', 'a', { maxDistance: 0 }), 0);
  assert.equal(leven('ab', 'abcdefgh', { maxDistance: 4 }), 4);
});

test('without the option nothing changes', () => {
  assert.equal(leven('kitten', 'sitting'), 3);
  assert.equal(leven('a', 'b'), 1);
  assert.equal(leven('', ''), 0);
});

test('always Math.min(full distance, maxDistance)', () => {
  let seed = 7;
  const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const word = () => Array.from({ length: Math.floor(rand() * 9) }, () => 'abcde'[Math.floor(rand() * 5)]).join('');
  for (let i = 0; i < 3000; i++) {
    const a = word();
    const b = word();
    const max = Math.floor(rand() * 6);
    assert.equal(leven(a, b, { maxDistance: max }), Math.min(leven(a, b), max), `${a} ${b} ${max}`);
  }
});
