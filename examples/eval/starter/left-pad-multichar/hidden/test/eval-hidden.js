var test = require('tape');
var leftPad = require('../index.js');

test('a pad of several characters gives the length asked for', function (t) {
  t.equal(leftPad('1', 4, 'ab'), 'aba1');
  t.equal(leftPad('abc', 6, 'xy'), 'xyxabc');
  t.equal(leftPad(7, 8, '0.'), '0.0.0.07');
  t.equal(leftPad('1', 4, 'ab').length, 4);
  t.end();
});

test('single characters, numbers and long strings behave as before', function (t) {
  t.equal(leftPad('x', 3, '0'), '00x');
  t.equal(leftPad('7', 3, 0), '007');
  t.equal(leftPad('foo', 5), '  foo');
  t.equal(leftPad('foobar', 3, 'ab'), 'foobar');
  t.equal(leftPad('a', 25, ' '), '                        a');
  t.end();
});
