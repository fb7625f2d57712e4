import { ScriptedAnswers } from '@agency/eval';
import { evalRun, variantsOf } from './eval.commands.js';

describe('agency eval run options', () => {
  it('runs every model with every tier; none given: the configuration as it is', () => {
    expect(variantsOf()).toEqual([{}]);
    expect(variantsOf('a, b', 'small')).toEqual([
      { model: 'a', tier: 'small' },
      { model: 'b', tier: 'small' },
    ]);
    expect(variantsOf(undefined, 'small,large')).toEqual([{ tier: 'small' }, { tier: 'large' }]);
  });

  it('runs each scripted answer as a variant of its own, with every tier', () => {
    expect(variantsOf(undefined, 'small', [ScriptedAnswers.Oracle, ScriptedAnswers.Wrong])).toEqual([
      { answers: 'oracle', tier: 'small' },
      { answers: 'wrong', tier: 'small' },
    ]);
  });

  it('refuses unknown answers, scripted answers with models, and a bad concurrency before anything starts', async () => {
    await expect(evalRun('suite', { answers: 'best' })).rejects.toThrow('--answers must be models, or one or more of oracle, wrong and empty; got "best"');
    await expect(evalRun('suite', { answers: 'oracle', models: 'x' })).rejects.toThrow('--answers oracle replaces the models: leave --models out');
  });
});
