var assert = require('assert');
var parse = require('../index.js');

describe('malformed ranges', function () {
  it('returns -2 for a range with anything but digits around the dash', function () {
    assert.strictEqual(parse(100, 'bytes=x-5'), -2);
    assert.strictEqual(parse(100, 'bytes=0-10-20'), -2);
    assert.strictEqual(parse(100, 'bytes=-'), -2);
    assert.strictEqual(parse(100, 'bytes=0-1,abc'), -2);
    assert.strictEqual(parse(100, 'bytes=1.5-2'), -2);
  });
  it('still parses valid ranges, with spaces, and reports unsatisfiable ones', function () {
    assert.deepStrictEqual(parse(100, 'bytes=0-9').slice(), [{ start: 0, end: 9 }]);
    assert.deepStrictEqual(parse(100, 'bytes=-5').slice(), [{ start: 95, end: 99 }]);
    assert.deepStrictEqual(parse(100, 'bytes=90-').slice(), [{ start: 90, end: 99 }]);
    assert.deepStrictEqual(parse(100, 'bytes= 0-1 , 5-6').slice(), [{ start: 0, end: 1 }, { start: 5, end: 6 }]);
    assert.strictEqual(parse(100, 'bytes=0-9').type, 'bytes');
    assert.strictEqual(parse(100, 'bytes=200-300'), -1);
    assert.strictEqual(parse(100, 'bytes'), -2);
  });
});
