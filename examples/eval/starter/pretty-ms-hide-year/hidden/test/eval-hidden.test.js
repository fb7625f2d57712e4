const assert = require('node:assert/strict');
const { test } = require('node:test');
const prettyMs = require('../index.js');

const day = 24 * 3600 * 1000;
const hour = 3600 * 1000;

test('hideYear counts years in days', () => {
  assert.equal(prettyMs(400 * day + 5 * hour, { hideYear: true }), '400d 5h');
  assert.equal(prettyMs(400 * day + 5 * hour, { hideYear: true, verbose: true }), '400 days 5 hours');
  assert.equal(prettyMs(400 * day + 5 * hour, { hideYear: true, compact: true }), '400d');
  assert.equal(prettyMs(730 * day, { hideYear: true }), '730d');
  assert.equal(prettyMs(3 * day, { hideYear: true }), '3d');
});

test('without it years are shown as before', () => {
  assert.equal(prettyMs(400 * day + 5 * hour), '1y 35d 5h');
  assert.equal(prettyMs(400 * day + 5 * hour, { hideYear: false }), '1y 35d 5h');
  assert.equal(prettyMs(1337), '1.3s');
});
