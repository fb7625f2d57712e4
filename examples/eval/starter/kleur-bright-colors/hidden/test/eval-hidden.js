const { test } = require('uvu');
const assert = require('uvu/assert');
const kleur = require('../index.js');
const colors = require('../colors.js');

const NAMES = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];
const cap = (s) => s[0].toUpperCase() + s.slice(1);

test('kleur has the bright colours and backgrounds', () => {
  kleur.enabled = true;
  NAMES.forEach((name, i) => {
    assert.is(kleur[`${name}Bright`]('x'), `\x1b[${90 + i}mx\x1b[39m`, `${name}Bright`);
    assert.is(kleur[`bg${cap(name)}Bright`]('x'), `\x1b[${100 + i}mx\x1b[49m`, `bg${cap(name)}Bright`);
  });
});

test('bright styles chain', () => {
  kleur.enabled = true;
  assert.is(kleur.bold().bgBlueBright('y'), '\x1b[1m\x1b[104my\x1b[22m\x1b[49m');
  assert.is(kleur.redBright().underline('z'), '\x1b[91m\x1b[4mz\x1b[39m\x1b[24m');
  kleur.enabled = false;
  assert.is(kleur.greenBright('plain'), 'plain');
});

test('kleur/colors has them too, and respects $.enabled', () => {
  colors.$.enabled = true;
  assert.is(colors.cyanBright('q'), '\x1b[96mq\x1b[39m');
  assert.is(colors.bgWhiteBright('w'), '\x1b[107mw\x1b[49m');
  colors.$.enabled = false;
  assert.is(colors.cyanBright('q'), 'q');
});

test('the ES module entry points have them', async () => {
  const esm = await import('../index.mjs');
  const esmColors = await import('../colors.mjs');
  esm.default.enabled = true;
  assert.is(esm.default.magentaBright('m'), '\x1b[95mm\x1b[39m');
  esmColors.$.enabled = true;
  assert.is(esmColors.yellowBright('y'), '\x1b[93my\x1b[39m');
});

test.run();
