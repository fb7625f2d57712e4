var expect = require('expect.js');
var ms = require('../index.js');

describe('ms(months)', function () {
  var month = ms('1y') / 12;
  it('parses mo, month and months in any case', function () {
    expect(ms('1mo')).to.be(month);
    expect(ms('1 month')).to.be(month);
    expect(ms('2 Months')).to.be(2 * month);
    expect(ms('1.5mo')).to.be(1.5 * month);
    expect(ms('-1mo')).to.be(-month);
    expect(ms('12mo')).to.be(ms('1y'));
  });
  it('keeps m as minutes', function () {
    expect(ms('1m')).to.be(60000);
    expect(ms('5 min')).to.be(300000);
  });
});
