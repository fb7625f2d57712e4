// Hidden tests of the eval task ts-dedent-tab-values (written by the agency project).
import { dedent } from '..';

describe('multi-line values in templates indented with tabs', () => {
  const value = 'alpha\nbeta\ngamma';

  it('indents every line of the value with the tabs of the line it is on', () => {
    expect(dedent`
		steps:
			${value}
		done
	`).toEqual('steps:\n\talpha\n\tbeta\n\tgamma\ndone');
  });

  it('keeps deeper tab levels', () => {
    expect(dedent`
		a:
			b:
				${'x\ny'}
	`).toEqual('a:\n\tb:\n\t\tx\n\t\ty');
  });

  it('keeps mixed tabs and spaces as they are', () => {
    expect(dedent`
		root
			  ${'x\ny'}
	`).toEqual('root\n\t  x\n\t  y');
  });

  it('still indents values in templates indented with spaces', () => {
    expect(dedent`
      list:
        ${value}
    `).toEqual('list:\n  alpha\n  beta\n  gamma');
  });

  it('leaves one-line values and values at the start of a line alone', () => {
    expect(dedent`
		name: ${'x'}
		${'p\nq'}
	`).toEqual('name: x\np\nq');
  });
});
