import type { CoderStopCode } from '@agency/contracts';
import {
  isBudgetExhausted,
  readJsonAnswer,
  type CallContext,
  type ChatMessage,
  type ChatToolsRequest,
  type ChatToolsResult,
  type ToolCall,
  type ToolDefinition,
} from '@agency/llm-client';
import { ShapeError } from '../../prompts/shape.js';
import type { CodeAnswer } from '../code.answer.js';
import type { ToolOutcome } from '../tools/coder-tools.js';
import { condenseConversation, conversationChars } from './conversation-condenser.js';
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
  /** Repeated identical actions (without a change in between) that get a warning; one more stops the loop. */
  repeatLimit?: number;
  /** Once the conversation is longer than this (characters), old tool results are condensed. */
  condenseAfterChars?: number;
  /** The loop stops, handing in its checkpoints, once this time (epoch ms) has passed. */
  deadlineMs?: number;
}

/** Why the loop ended before the model called finish. */
export interface CoderStop {
  code: CoderStopCode;
  reason: string;
}

export interface CoderLoopResult {
  summary: string;
  /** Model turns used. */
  steps: number;
  /** Checkpoint commits made. */
  commits: number;
  mode: 'tools' | 'answer';
  /** Set when the loop stopped early: its checkpoints are the work (the caller decides what happens to them). */
  stopped?: CoderStop;
  /** Characters saved by condensing old tool results. */
  condensedChars?: number;
}

const NUDGE = 'Use the tools to make the change; every change is committed as you go. When the work is done, call finish with a summary.';

/**
 * The coder's tool loop: the model calls tools, each change is committed at once (a checkpoint:
 * nothing is lost if the step stops), the results go back, until it calls finish. It stops early,
 * with its checkpoints as the work, at the step limit (STEP_LIMIT), at its deadline (TIMEOUT), when
 * the gateway says the FR's budget is spent (BUDGET_EXCEEDED), or when the model repeats the same
 * action without changing anything after being warned once (REPEATED_ACTION). A first answer that is
 * the one-shot JSON format is accepted as the whole change, so scripted and tool-less models still work.
 */
export class CoderLoop {
  constructor(private readonly deps: CoderLoopDeps) {}

  async run(input: CoderLoopInput): Promise<CoderLoopResult> {
    const { deps } = this;
    const now = deps.now ?? Date.now;
    let messages = [...input.messages];
    const guard = new RepeatGuard(input.repeatLimit ?? 3);
    deps.transcript.prompt(
      messages,
      input.tools.map((t) => t.name),
    );
    let commits = 0;
    let condensedChars = 0;
    let lastWords = '';
    const stop = (code: CoderStopCode, reason: string, steps: number): CoderLoopResult => {
      deps.progress(`stopped: ${reason}`);
      deps.transcript.note(steps, `stopped (${code}): ${reason}`);
      const said = lastWords.trim() ? ` The coder's last words: "${lastWords.trim().slice(0, 500)}"` : '';
      return { summary: `${reason}.${said}`, steps, commits, mode: 'tools', stopped: { code, reason }, condensedChars };
    };
    for (let step = 1; step <= input.maxSteps; step += 1) {
      if (input.deadlineMs !== undefined && now() >= input.deadlineMs)
        return stop('TIMEOUT', `the coder ran out of its time (max_minutes of the coder agent) before step ${step}`, step - 1);
      if (input.condenseAfterChars !== undefined && conversationChars(messages) > input.condenseAfterChars) {
        const condensed = condenseConversation(messages);
        if (condensed.savedChars > 0) {
          messages = condensed.messages;
          condensedChars += condensed.savedChars;
          deps.transcript.note(step, `condensed old tool results: ${condensed.savedChars} characters dropped from the conversation`);
        }
      }
      deps.progress(`step ${step}/${input.maxSteps}: asking ${input.model}`);
      const started = now();
      let reply: ChatToolsResult;
      try {
        reply = await deps.llm.chatTools(
          { model: input.model, messages, tools: input.tools, maxTokens: input.maxTokens, temperature: input.temperature },
          input.ctx,
        );
      } catch (e) {
        // The FR's budget is spent: what was committed so far is the work (the saga makes it a draft PR).
        if (!isBudgetExhausted(e)) throw e;
        return stop('BUDGET_EXCEEDED', `the FR's budget is spent (${(e as Error).message})`, step - 1);
      }
      deps.transcript.model(step, {
        model: reply.model,
        durationMs: now() - started,
        inputTokens: reply.inputTokens,
        outputTokens: reply.outputTokens,
        finishReason: reply.finishReason,
        content: reply.content,
        toolCalls: reply.toolCalls,
      });
      messages.push(reply.message);
      if (reply.content.trim()) lastWords = reply.content;

      if (reply.toolCalls.length === 0) {
        const answered = await this.tryAnswer(reply.content, step, messages);
        if (answered) return { summary: answered.summary, steps: step, commits: commits + (answered.sha ? 1 : 0), mode: 'answer', condensedChars };
        if (guard.check('(text answer)', reply.content).verdict === 'stop')
          return stop('REPEATED_ACTION', `the coder gave the same text answer again after a warning, at step ${step}`, step);
        continue;
      }

      let finished: { summary: string } | undefined;
      for (const call of reply.toolCalls) {
        if (finished) {
          messages.push({ role: 'tool', tool_call_id: call.id, content: 'not run: finish was called before it' });
          continue;
        }
        const repeat = guard.check(call.name, call.arguments);
        if (repeat.verdict === 'stop') {
          const shown = call.arguments.length > 300 ? `${call.arguments.slice(0, 300)}...` : call.arguments;
          return stop(
            'REPEATED_ACTION',
            `the coder repeated the same action ${repeat.count} times without changing anything (${call.name} ${shown}), after a warning, at step ${step}`,
            step,
          );
        }
        if (repeat.verdict === 'warn') {
          deps.transcript.note(step, `warned: ${call.name} repeated ${repeat.count} times without a change`);
          messages.push({ role: 'tool', tool_call_id: call.id, content: repeatWarning(call.name, repeat.count) });
          continue;
        }
        commits += await this.runTool(call, step, input.maxSteps, guard, messages, (f) => (finished = f));
      }
      if (finished) return { summary: (finished as { summary: string }).summary, steps: step, commits, mode: 'tools', condensedChars };
    }
    return stop('STEP_LIMIT', `the coder used all ${input.maxSteps} steps (max_steps of the coder agent) without calling finish`, input.maxSteps);
  }

  /** Runs one tool call, checkpoints what it changed, answers the model; returns the commits it made (0 or 1). */
  private async runTool(
    call: ToolCall,
    step: number,
    maxSteps: number,
    guard: RepeatGuard,
    messages: ChatMessage[],
    onFinish: (f: { summary: string }) => void,
  ): Promise<number> {
    const { deps } = this;
    const now = deps.now ?? Date.now;
    deps.progress(`step ${step}/${maxSteps}: ${call.name}`);
    const t0 = now();
    const outcome = await deps.tools.run(call.name, call.arguments);
    let commit: string | undefined;
    if (outcome.changed && outcome.changed.length > 0) {
      commit = await deps.checkpoint(outcome.changed, `${call.name} ${outcome.changed.join(', ')}`, step);
      if (commit) guard.changed();
    }
    deps.transcript.tool(step, {
      id: call.id,
      name: call.name,
      arguments: call.arguments,
      ok: outcome.ok,
      durationMs: now() - t0,
      result: outcome.content,
      ...(outcome.changed ? { changed: outcome.changed } : {}),
      ...(commit ? { commit } : {}),
    });
    messages.push({
      role: 'tool',
      tool_call_id: call.id,
      content: outcome.changed && !commit && outcome.ok ? `${outcome.content} (the content was already so: nothing changed)` : outcome.content,
    });
    if (outcome.finished) onFinish(outcome.finished);
    return commit ? 1 : 0;
  }

  /** A text turn: the one-shot JSON answer is the whole change; anything else gets a nudge (or the shape problem) and the loop goes on. */
  private async tryAnswer(content: string, step: number, messages: ChatMessage[]): Promise<{ summary: string; sha: string | undefined } | undefined> {
    const read = readJsonAnswer(content);
    if (!read.ok || !looksLikeAnswer(read.value)) {
      messages.push({ role: 'user', content: NUDGE });
      this.deps.transcript.note(step, 'text answer without tool calls; nudged');
      return undefined;
    }
    let answer: CodeAnswer;
    try {
      answer = this.deps.parseAnswer(read.value);
    } catch (e) {
      if (!(e instanceof ShapeError)) throw e;
      messages.push({ role: 'user', content: `Your answer could not be used: ${e.message}. ${NUDGE}` });
      this.deps.transcript.note(step, `JSON answer refused: ${e.message}`);
      return undefined;
    }
    const sha = await this.deps.applyAnswer(answer);
    this.deps.transcript.note(
      step,
      `whole-files answer applied: ${answer.files.map((f) => f.path).join(', ')}${sha ? ` (commit ${sha})` : ' (nothing changed)'}`,
    );
    return { summary: answer.summary, sha };
  }
}

/** A JSON value that is meant as the one-shot answer (it has the answer's keys), not a stray object in prose. */
function looksLikeAnswer(value: unknown): boolean {
  return !!value && typeof value === 'object' && !Array.isArray(value) && ('files' in value || 'summary' in value);
}

function repeatWarning(name: string, count: number): string {
  return (
    `not run: you have called ${name} with these same arguments ${count} times with no change to the repository in between, so the result would be the same. ` +
    'Try something else: read another part, change the code, or call finish if the work is done. Repeating it once more stops your work.'
  );
}
