const assert = require('node:assert/strict');
const { test } = require('node:test');
const decamelize = require('../index.js');

test('an options object with separator', () => {
  assert.equal(decamelize('unicornRainbow', { separator: '-' }), 'unicorn-rainbow');
  assert.equal(decamelize('unicornRainbow', { separator: ' ' }), 'unicorn rainbow');
  assert.equal(decamelize('unicornRainbow', {}), 'unicorn_rainbow');
});

test('preserveConsecutiveUppercase keeps acronyms', () => {
  const p = { preserveConsecutiveUppercase: true };
  assert.equal(decamelize('testGUILabel', p), 'test_GUI_label');
  assert.equal(decamelize('dataForUSACounties', p), 'data_for_USA_counties');
  assert.equal(decamelize('XMLHttpRequest', p), 'XML_http_request');
  assert.equal(decamelize('unicornRainbow', p), 'unicorn_rainbow');
  assert.equal(decamelize('testGUILabel', { separator: '-', preserveConsecutiveUppercase: true }), 'test-GUI-label');
});

test('the old calls behave as before', () => {
  assert.equal(decamelize('unicornRainbow'), 'unicorn_rainbow');
  assert.equal(decamelize('unicornRainbow', '-'), 'unicorn-rainbow');
  assert.equal(decamelize('testGUILabel'), 'test_gui_label');
  assert.equal(decamelize('XMLHttpRequest'), 'xml_http_request');
  assert.throws(() => decamelize(1), TypeError);
  assert.throws(() => decamelize('a', { separator: 1 }), TypeError);
});
