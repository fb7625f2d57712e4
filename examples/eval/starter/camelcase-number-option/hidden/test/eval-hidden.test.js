const assert = require('node:assert/strict');
const { test } = require('node:test');
const camelCase = require('../index.js');

test('capitalizeAfterNumber: false leaves the character after a number', () => {
  const o = { capitalizeAfterNumber: false };
  assert.equal(camelCase('foo2bar', o), 'foo2bar');
  assert.equal(camelCase('p2p-network', o), 'p2pNetwork');
  assert.equal(camelCase('grid-col6md', o), 'gridCol6md');
  assert.equal(camelCase('foo-bar-2-baz', o), 'fooBar2Baz');
  assert.equal(camelCase('p2p-network', { ...o, pascalCase: true }), 'P2pNetwork');
});

test('the default capitalizes after numbers as before', () => {
  assert.equal(camelCase('foo2bar'), 'foo2Bar');
  assert.equal(camelCase('p2p-network'), 'p2PNetwork');
  assert.equal(camelCase('foo2bar', { capitalizeAfterNumber: true }), 'foo2Bar');
  assert.equal(camelCase('foo-bar'), 'fooBar');
  assert.equal(camelCase('Foo-Bar', { pascalCase: true }), 'FooBar');
});
