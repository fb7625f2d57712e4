import { isBudgetExhausted, type CallContext, type ChatMessage, type ChatToolsRequest, type ChatToolsResult, type ToolDefinition } from '@agency/llm-client';
import { ShapeError } from '../../prompts/shape.js';
import { StepFailure } from '../../steps/step-failure.js';
import type { CodeAnswer } from '../code.answer.js';
import type { ToolOutcome } from '../tools/coder-tools.js';
import { RepeatGuard } from './repeat-guard.js';
import type { Transcript } from './transcript.js';

export interface CoderLoopDeps {
  llm: { chatTools(request: ChatToolsRequest, ctx?: CallContext): Promise<ChatToolsResult> };
  tools: { run(name: string, rawArgs: string): Promise<ToolOutcome> };
  /** Commits the paths a step changed; the sha, or undefined when the content did not actually change. */
  checkpoint: (paths: string[], label: string, step: number) => Promise<string | undefined>;
  /** A whole-files JSON answer (the one-shot format, for models that answer instead of calling tools): writes and commits it. */
  applyAnswer: (answer: CodeAnswer) => Promise<string | undefined>;
  parseAnswer: (value: unknown) => CodeAnswer;
  transcript: Transcript;
  progress: (message: string) => void;
  now?: () => number;
}

export interface CoderLoopInput {
  model: string;
  messages: ChatMessage[];
  tools: ToolDefinition[];
  maxSteps: number;
  maxTokens: number;
  temperature: number;
  ctx?: CallContext;
  /** Repeated identical actions (without a change in between) that stop the loop. */
  repeatLimit?: number;
}

export interface CoderLoopResult {
  summary: string;
  /** Model turns used. */
  steps: number;
  /** Checkpoint commits made. */
  commits: number;
  mode: 'tools' | 'answer';
  /** Set when the loop stopped early and handed in its checkpoints as the work. */
  stoppedBy?: 'budget';
}

const NUDGE = 'Use the tools to make the change; every change is committed as you go. When the work is done, call finish with a summary.';

/**
 * The coder's tool loop: the model calls tools, each change is committed at once (a checkpoint:
 * nothing is lost if the step stops), the results go back, until it calls finish. It stops with
 * a step failure at the step limit (STEP_LIMIT) or when the model repeats the same action without
 * changing anything (REPEATED_ACTION), and hands in its checkpoints when the gateway says the FR's
 * budget is spent (with none, that refusal is the step's failure). A first answer that is the one-shot JSON format is
 * accepted as the whole change, so scripted and tool-less models still work.
 */
export class CoderLoop {
  constructor(private readonly deps: CoderLoopDeps) {}

  async run(input: CoderLoopInput): Promise<CoderLoopResult> {
    const { deps } = this;
    const now = deps.now ?? Date.now;
    const messages = [...input.messages];
    const guard = new RepeatGuard(input.repeatLimit ?? 3);
    deps.transcript.prompt(messages, input.tools.map((t) => t.name));
    let commits = 0;
    for (let step = 1; step <= input.maxSteps; step += 1) {
      deps.progress(`step ${step}/${input.maxSteps}: asking ${input.model}`);
      const started = now();
      let reply: ChatToolsResult;
      try {
        reply = await deps.llm.chatTools({ model: input.model, messages, tools: input.tools, maxTokens: input.maxTokens, temperature: input.temperature }, input.ctx);
      } catch (e) {
        // The FR's budget is spent: what was committed so far is handed in (the saga makes it a draft PR).
        if (!isBudgetExhausted(e) || commits === 0) throw e;
        deps.progress(`step ${step}: the FR's budget is spent; handing in ${commits} checkpoint commit(s)`);
        return { summary: `Stopped before step ${step} because the FR's budget is spent; the ${commits} checkpoint commit(s) so far are the work. (${(e as Error).message})`, steps: step - 1, commits, mode: 'tools', stoppedBy: 'budget' };
      }
      deps.transcript.model(step, { model: reply.model, durationMs: now() - started, inputTokens: reply.inputTokens, outputTokens: reply.outputTokens, finishReason: reply.finishReason, content: reply.content, toolCalls: reply.toolCalls });
      messages.push(reply.message);

      if (reply.toolCalls.length === 0) {
        const answered = await this.tryAnswer(reply.content, step, messages);
        if (answered) return { summary: answered.summary, steps: step, commits: commits + (answered.sha ? 1 : 0), mode: 'answer' };
        this.checkRepeat(guard, '(text answer)', reply.content, step);
        continue;
      }

      let finished: { summary: string } | undefined;
      for (const call of reply.toolCalls) {
        if (finished) {
          messages.push({ role: 'tool', tool_call_id: call.id, content: 'not run: finish was called before it' });
          continue;
        }
        this.checkRepeat(guard, call.name, call.arguments, step);
        deps.progress(`step ${step}/${input.maxSteps}: ${call.name}`);
        const t0 = now();
        const outcome = await deps.tools.run(call.name, call.arguments);
        let commit: string | undefined;
        if (outcome.changed && outcome.changed.length > 0) {
          commit = await deps.checkpoint(outcome.changed, `${call.name} ${outcome.changed.join(', ')}`, step);
          if (commit) {
            commits += 1;
            guard.changed();
          }
        }
        deps.transcript.tool(step, { id: call.id, name: call.name, arguments: call.arguments, ok: outcome.ok, durationMs: now() - t0, result: outcome.content, ...(outcome.changed ? { changed: outcome.changed } : {}), ...(commit ? { commit } : {}) });
        messages.push({ role: 'tool', tool_call_id: call.id, content: outcome.changed && !commit && outcome.ok ? `${outcome.content} (the content was already so: nothing changed)` : outcome.content });
        if (outcome.finished) finished = outcome.finished;
      }
      if (finished) return { summary: finished.summary, steps: step, commits, mode: 'tools' };
    }
    throw new StepFailure(
      'STEP_LIMIT',
      `the coder used all ${input.maxSteps} steps (max_steps of the coder agent) without calling finish; ${commits} checkpoint commit(s) of this step are kept on the branch`,
    );
  }

  /** A text turn: the one-shot JSON answer is the whole change; anything else gets a nudge (or the shape problem) and the loop goes on. */
  private async tryAnswer(content: string, step: number, messages: ChatMessage[]): Promise<{ summary: string; sha: string | undefined } | undefined> {
    const text = content.trim().replace(/^```(?:json)?\s*\n([\s\S]*?)\n```$/, '$1');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      messages.push({ role: 'user', content: NUDGE });
      this.deps.transcript.note(step, 'text answer without tool calls; nudged');
      return undefined;
    }
    let answer: CodeAnswer;
    try {
      answer = this.deps.parseAnswer(value);
    } catch (e) {
      if (!(e instanceof ShapeError)) throw e;
      messages.push({ role: 'user', content: `Your answer could not be used: ${e.message}. ${NUDGE}` });
      this.deps.transcript.note(step, `JSON answer refused: ${e.message}`);
      return undefined;
    }
    const sha = await this.deps.applyAnswer(answer);
    this.deps.transcript.note(step, `whole-files answer applied: ${answer.files.map((f) => f.path).join(', ')}${sha ? ` (commit ${sha})` : ' (nothing changed)'}`);
    return { summary: answer.summary, sha };
  }

  private checkRepeat(guard: RepeatGuard, name: string, args: string, step: number): void {
    const n = guard.record(name, args);
    if (n >= guard.limit) {
      const shown = args.length > 300 ? `${args.slice(0, 300)}...` : args;
      this.deps.transcript.note(step, `stopped: ${name} repeated ${n} times`);
      throw new StepFailure('REPEATED_ACTION', `the coder repeated the same action ${n} times without changing anything (${name} ${shown}) and was stopped at step ${step}; its checkpoint commits are kept on the branch`);
    }
  }
}
