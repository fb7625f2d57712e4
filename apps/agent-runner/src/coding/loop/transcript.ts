import type { ChatMessage, ToolCall } from '@agency/llm-client';

/** Cap on any one text in the transcript (a whole file written, a long output). */
const TEXT_MAX = 50_000;

function cap(text: string): string {
  return text.length > TEXT_MAX ? `${text.slice(0, TEXT_MAX)}\n[... ${text.length - TEXT_MAX} more characters not kept ...]` : text;
}

export type TranscriptEntry =
  | { kind: 'prompt'; at: string; messages: Array<{ role: string; content: string }>; tools: string[] }
  | {
      kind: 'model';
      at: string;
      step: number;
      model: string;
      durationMs: number;
      inputTokens: number;
      outputTokens: number;
      finishReason?: string;
      content: string;
      toolCalls: Array<{ id: string; name: string; arguments: string }>;
    }
  | {
      kind: 'tool';
      at: string;
      step: number;
      id: string;
      name: string;
      arguments: string;
      ok: boolean;
      durationMs: number;
      result: string;
      changed?: string[];
      commit?: string;
    }
  | { kind: 'note'; at: string; step: number; text: string };

/** Every model call and tool call of a coder step, kept as an artifact (plan, diff and transcript tell the whole story). */
export class Transcript {
  readonly entries: TranscriptEntry[] = [];

  constructor(
    private readonly now: () => Date = () => new Date(),
    /** Told after every new entry (the coder stores the transcript as it grows, for the dashboard). */
    private readonly changed: () => void = () => undefined,
  ) {}

  private push(entry: TranscriptEntry): void {
    this.entries.push(entry);
    this.changed();
  }

  private get at(): string {
    return this.now().toISOString();
  }

  prompt(messages: readonly ChatMessage[], tools: readonly string[]): void {
    this.push({
      kind: 'prompt',
      at: this.at,
      messages: messages.map((m) => ({ role: m.role, content: cap(typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? '')) })),
      tools: [...tools],
    });
  }

  model(
    step: number,
    r: { model: string; durationMs: number; inputTokens: number; outputTokens: number; finishReason?: string; content: string; toolCalls: readonly ToolCall[] },
  ): void {
    this.push({
      kind: 'model',
      at: this.at,
      step,
      ...r,
      content: cap(r.content),
      toolCalls: r.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: cap(c.arguments) })),
    });
  }

  tool(
    step: number,
    r: { id: string; name: string; arguments: string; ok: boolean; durationMs: number; result: string; changed?: string[]; commit?: string },
  ): void {
    this.push({ kind: 'tool', at: this.at, step, ...r, arguments: cap(r.arguments), result: cap(r.result) });
  }

  note(step: number, text: string): void {
    this.push({ kind: 'note', at: this.at, step, text });
  }

  /** Totals for the artifact's header. */
  summary(): { modelCalls: number; toolCalls: number; inputTokens: number; outputTokens: number } {
    let modelCalls = 0;
    let toolCalls = 0;
    let inputTokens = 0;
    let outputTokens = 0;
    for (const e of this.entries) {
      if (e.kind === 'model') {
        modelCalls += 1;
        inputTokens += e.inputTokens;
        outputTokens += e.outputTokens;
      } else if (e.kind === 'tool') toolCalls += 1;
    }
    return { modelCalls, toolCalls, inputTokens, outputTokens };
  }
}
