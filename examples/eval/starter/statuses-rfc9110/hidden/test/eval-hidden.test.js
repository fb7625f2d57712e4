const assert = require('node:assert/strict');
const { test } = require('node:test');
const status = require('../index.js');

test('413 and 422 carry their RFC 9110 messages', () => {
  assert.equal(status(413), 'Content Too Large');
  assert.equal(status('422'), 'Unprocessable Content');
  assert.equal(status.message[413], 'Content Too Large');
  assert.equal(status.message[422], 'Unprocessable Content');
});

test('new and old messages both look the code up', () => {
  assert.equal(status('Content Too Large'), 413);
  assert.equal(status('unprocessable content'), 422);
  assert.equal(status('Payload Too Large'), 413);
  assert.equal(status.code['unprocessable entity'], 422);
});

test('the rest is unchanged', () => {
  assert.equal(status(404), 'Not Found');
  assert.equal(status('Not Found'), 404);
  assert.equal(status.codes.length, 63);
  assert.equal(status.codes.includes(413), true);
  assert.throws(() => status('Nope'), /invalid status message/);
});
