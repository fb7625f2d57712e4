/** The scripted answers a suite can run with instead of the configuration's models. */
export enum ScriptedAnswers {
  /** The coder applies the task's reference solution: a harness that measures scores 100%. */
  Oracle = 'oracle',
  /** The coder writes an unrelated note: a harness that measures scores 0%. */
  Wrong = 'wrong',
  /** The coder finishes without changing a file: the run fails (EMPTY_CHANGE) before a PR, and the report must say so. */
  Empty = 'empty',
}

/** The files a unified diff changes (its `+++ b/...` lines; a deletion's `--- a/...`). */
export function patchFiles(patch: string): string[] {
  const files = new Set<string>();
  let minus: string | undefined;
  for (const line of patch.split('\n')) {
    if (line.startsWith('--- ')) minus = line.slice(4).trim();
    else if (line.startsWith('+++ ')) {
      const plus = line.slice(4).trim();
      const path = plus === '/dev/null' ? minus : plus;
      if (path && path !== '/dev/null') files.add(path.replace(/^[ab]\//, '').split('\t')[0]!);
    }
  }
  return [...files];
}

const turn = (name: string, args: Record<string, unknown>) => ({ tool_calls: [{ name, arguments: args }] });

/**
 * A scripted model's script (the gateway's `scripted` provider) for one FR: the planner names the
 * files, the coder applies the reference patch (oracle), writes a note (wrong) or nothing (empty)
 * and finishes, the reviewer approves. Aliases `planner`, `coder`, `reviewer`.
 */
export function scriptFor(answers: ScriptedAnswers, frId: string, title: string, referencePatch: string): Record<string, unknown> {
  const files = answers === ScriptedAnswers.Oracle ? patchFiles(referencePatch) : ['EVAL-NOTE.md'];
  const plan = { summary: `${title}: change ${files.join(', ')}.`, steps: [{ title, files, detail: 'As the FR asks.' }], risks: [] };
  const coders: Record<ScriptedAnswers, Array<ReturnType<typeof turn>>> = {
    [ScriptedAnswers.Oracle]: [turn('apply_patch', { patch: referencePatch }), turn('finish', { summary: `${title}.` })],
    [ScriptedAnswers.Wrong]: [
      turn('write_file', { path: 'EVAL-NOTE.md', content: `# ${frId}\n\nA scripted wrong answer: nothing of the FR is done.\n` }),
      turn('finish', { summary: 'Wrote a note.' }),
    ],
    [ScriptedAnswers.Empty]: [turn('finish', { summary: 'Nothing to change.' })],
  };
  const coder = coders[answers];
  return {
    version: 1,
    rules: [
      { match: { model: 'planner', fr: frId }, reply: { content: JSON.stringify(plan) } },
      { match: { model: 'coder', fr: frId }, replies: coder },
      {
        match: { model: 'reviewer', fr: frId },
        reply: { content: JSON.stringify({ verdict: 'approve', confidence: 0.9, summary: 'Matches the FR.', findings: [] }) },
      },
    ],
  };
}

/**
 * Prices of the scripted aliases: the oracle's cost is then a known function of its tokens. Cached
 * input (the scripted provider's simulated prompt cache) at a tenth of the input price, as OpenAI's
 * current models charge it.
 */
export const SCRIPTED_PRICES = {
  'scripted/planner': { input_per_mtok: 3.0, cached_input_per_mtok: 0.3, output_per_mtok: 15.0 },
  'scripted/coder': { input_per_mtok: 3.0, cached_input_per_mtok: 0.3, output_per_mtok: 15.0 },
  'scripted/reviewer': { input_per_mtok: 1.0, cached_input_per_mtok: 0.1, output_per_mtok: 5.0 },
} as const;

/** The llm section of agency.yaml that serves the script at `scriptFile` (relative to 40_config). */
export function scriptedLlm(scriptFile: string): Record<string, unknown> {
  return {
    providers: { scripted: { type: 'scripted', script: scriptFile } },
    models: { planner: ['scripted/planner'], coder: ['scripted/coder'], reviewer: ['scripted/reviewer'] },
    prices: SCRIPTED_PRICES,
  };
}
