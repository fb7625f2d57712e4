const assert = require('node:assert/strict');
const { test } = require('node:test');
const dotProp = require('../index.js');

test('escapePath escapes dots so get/set/has read one key', () => {
  assert.equal(dotProp.escapePath('foo.bar.baz'), 'foo\\.bar\\.baz');
  assert.equal(dotProp.escapePath('plain'), 'plain');
  const settings = { sites: { 'example.com': { port: 8080 } } };
  assert.equal(dotProp.get(settings, `sites.${dotProp.escapePath('example.com')}.port`), 8080);
  assert.equal(dotProp.has(settings, `sites.${dotProp.escapePath('example.com')}`), true);
  assert.throws(() => dotProp.escapePath(1), TypeError);
});

test('deepKeys lists the paths to every leaf, escaped, depth first', () => {
  const object = { a: { b: 1, c: {} }, 'x.y': [1, { z: 2 }], n: null, s: 'text', e: [] };
  assert.deepEqual(dotProp.deepKeys(object), ['a.b', 'a.c', 'x\\.y.0', 'x\\.y.1.z', 'n', 's', 'e']);
  for (const path of dotProp.deepKeys(object)) assert.ok(dotProp.has(object, path), path);
  assert.equal(dotProp.get(object, 'x\\.y.1.z'), 2);
  assert.deepEqual(dotProp.deepKeys({}), []);
  assert.throws(() => dotProp.deepKeys('nope'), TypeError);
});

test('get, set, has and delete are unchanged', () => {
  const o = { a: { b: 1 } };
  assert.equal(dotProp.get(o, 'a.b'), 1);
  dotProp.set(o, 'a.c', 2);
  assert.equal(o.a.c, 2);
  assert.equal(dotProp.delete(o, 'a.b'), true);
  assert.equal(dotProp.has(o, 'a.b'), false);
});
