var assert = require('assert');
var bytes = require('../index.js');

describe('bytes.parse with IEC units', function () {
  it('reads KiB, MiB, GiB, TiB and PiB as powers of 1024', function () {
    assert.strictEqual(bytes.parse('1KiB'), 1024);
    assert.strictEqual(bytes.parse('1.5 MiB'), 1572864);
    assert.strictEqual(bytes.parse('2gib'), 2 * Math.pow(1024, 3));
    assert.strictEqual(bytes.parse('1 TiB'), Math.pow(1024, 4));
    assert.strictEqual(bytes.parse('1PIB'), Math.pow(1024, 5));
    assert.strictEqual(bytes.parse('-1kib'), -1024);
    assert.strictEqual(bytes('1.5 MiB'), 1572864);
  });
  it('keeps the other forms', function () {
    assert.strictEqual(bytes.parse('1KB'), 1024);
    assert.strictEqual(bytes.parse('10'), 10);
    assert.strictEqual(bytes.parse(42), 42);
    assert.strictEqual(bytes(1024), '1KB');
  });
});
