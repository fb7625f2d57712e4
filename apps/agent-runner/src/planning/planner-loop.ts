import {
  LlmAnswerError,
  readJsonAnswer,
  type CallContext,
  type ChatMessage,
  type ChatResult,
  type ChatToolsRequest,
  type ChatToolsResult,
  type ToolDefinition,
} from '@agency/llm-client';
import { RepeatGuard } from '../coding/loop/repeat-guard.js';
import { aliasedCall } from '../coding/tools/tool-aliases.js';
import { parseToolArgs, type ToolOutcome } from '../coding/tools/tool-text.js';

export interface PlannerLoopDeps {
  llm: { chatTools(request: ChatToolsRequest, ctx?: CallContext): Promise<ChatToolsResult> };
  tools: { run(name: string, rawArgs: string): Promise<ToolOutcome> };
}

export interface PlannerLoopInput<T> {
  model: string;
  messages: ChatMessage[];
  tools: ToolDefinition[];
  /** Model turns in all; the last one must answer (tools are not offered in it). */
  maxSteps: number;
  maxTokens: number;
  temperature: number;
  repairTurns: number;
  /** The answer's JSON shape, repeated when an answer cannot be used. */
  shape: string;
  parse: (value: unknown) => T;
  ctx?: CallContext;
}

export interface PlannerLoopResult<T> {
  value: T;
  /** The answering call. */
  result: ChatResult;
  fixes: string[];
  /** Model turns used. */
  turns: number;
  /** The tool calls made, `read_file src/a.ts` and so on, for the plan's record. */
  explored: string[];
  /** Files read_file gave the planner, in order, once each: the coder is shown them whole. */
  readFiles: string[];
}

const LAST_TURN = 'That was your last look: answer now with the plan as one JSON object (no more tool calls).';

/**
 * The planner reading before it plans: the model may call read-only tools over the base commit
 * for up to maxSteps - 1 turns, then answers with the plan (tools are withheld on the last turn,
 * and it is told so). An answer that cannot be used gets repair turns, as chatJson gives, with
 * the problem and the expected shape; a repeated identical call gets a warning, then is not run.
 */
export class PlannerLoop {
  constructor(private readonly deps: PlannerLoopDeps) {}

  async run<T>(input: PlannerLoopInput<T>): Promise<PlannerLoopResult<T>> {
    const messages = [...input.messages];
    const guard = new RepeatGuard(3);
    const explored: string[] = [];
    const readFiles: string[] = [];
    const problems: string[] = [];
    let toolTurns = 0;
    for (let turn = 1; ; turn += 1) {
      const mayExplore = toolTurns < input.maxSteps - 1;
      const reply = await this.deps.llm.chatTools(
        {
          model: input.model,
          messages,
          tools: input.tools,
          maxTokens: input.maxTokens,
          temperature: input.temperature,
          ...(mayExplore ? {} : { toolChoice: 'none' as const }),
        },
        input.ctx,
      );
      messages.push(reply.message);
      if (reply.toolCalls.length > 0 && mayExplore) {
        toolTurns += 1;
        for (const call of reply.toolCalls) {
          explored.push(`${call.name} ${call.arguments.length > 120 ? `${call.arguments.slice(0, 120)}...` : call.arguments}`);
          const outcome = await this.runOnce(guard, call.name, call.arguments);
          // A read made under another name (`cat`, `view_file`) ran as read_file: it counts too.
          const read = call.name === 'read_file' ? call.arguments : aliasedCall(call.name, call.arguments, READ_ONLY)?.rawArgs;
          if (outcome.ok && read !== undefined) {
            const path = pathOf(read);
            if (path && !readFiles.includes(path)) readFiles.push(path);
          }
          messages.push({ role: 'tool', tool_call_id: call.id, content: outcome.content });
        }
        if (toolTurns >= input.maxSteps - 1) messages.push({ role: 'user', content: LAST_TURN });
        continue;
      }
      const problem = reply.toolCalls.length > 0 ? 'tool calls after the last look; the plan was expected' : this.problemOf(reply.content, input.parse);
      if (typeof problem !== 'string') return { value: problem.value, result: reply, fixes: problem.fixes, turns: turn, explored, readFiles };
      problems.push(problem);
      if (problems.length > input.repairTurns) {
        const tried = problems.map((p, i) => `${i === 0 ? 'first answer' : `repair ${i}`}: ${p}`).join('; ');
        throw new LlmAnswerError(`model ${input.model} gave no usable JSON after ${input.repairTurns} repair turn(s): ${tried}`, reply.content);
      }
      // Tool calls left unanswered would make the next request invalid.
      for (const call of reply.toolCalls) messages.push({ role: 'tool', tool_call_id: call.id, content: 'not run: the plan was expected' });
      messages.push({
        role: 'user',
        content: `Your answer could not be used: ${problem}. Answer again with only the corrected JSON object, shaped like ${input.shape}, nothing before or after it.`,
      });
    }
  }

  /** The parsed answer, or what is wrong with it. */
  private problemOf<T>(content: string, parse: (value: unknown) => T): string | { value: T; fixes: string[] } {
    const read = readJsonAnswer(content);
    if (!read.ok) return read.problem;
    try {
      return { value: parse(read.value), fixes: read.fixes };
    } catch (e) {
      return (e as Error).message;
    }
  }

  private async runOnce(guard: RepeatGuard, name: string, rawArgs: string): Promise<ToolOutcome> {
    const repeat = guard.check(name, rawArgs);
    if (repeat.verdict !== 'ok')
      return {
        ok: false,
        content: `not run: you have called ${name} with these same arguments ${repeat.count} times; the commit does not change, so the result would be the same. Read something else or answer with the plan.`,
      };
    return this.deps.tools.run(name, rawArgs);
  }
}

const READ_ONLY: ReadonlySet<string> = new Set(['read_file']);

/** The path a read_file call named, when its arguments say one. */
function pathOf(rawArgs: string): string | undefined {
  try {
    const args = parseToolArgs(rawArgs) as { path?: unknown } | null;
    return typeof args?.path === 'string' ? args.path.replace(/^\.\//, '') : undefined;
  } catch {
    return undefined;
  }
}
