// Folding streamed chunks into one chat.completion, and unfolding a stored completion back into
// chunks: upstreams are always called in streaming mode, and a cached answer is replayed in
// whichever form the client asked for.
import type { ChatChunk, ChatCompletion, Usage } from './schema.js';

type ToolCall = NonNullable<ChatCompletion['choices'][number]['message']['tool_calls']>[number];

export class Aggregator {
  id = '';
  created = 0;
  model = '';
  content = '';
  sawContent = false;
  finishReason: string | null = null;
  fingerprint: string | null | undefined;
  readonly tools: ToolCall[] = [];

  add(chunk: ChatChunk): void {
    this.id ||= chunk.id;
    this.created ||= chunk.created;
    this.model ||= chunk.model;
    if (chunk.system_fingerprint !== undefined) this.fingerprint = chunk.system_fingerprint;
    for (const choice of chunk.choices) {
      if (choice.index !== 0) continue;
      const d = choice.delta ?? {};
      if (typeof d.content === 'string') {
        this.content += d.content;
        this.sawContent = true;
      }
      for (const t of d.tool_calls ?? []) {
        let call = this.tools[t.index];
        if (!call) {
          call = { id: t.id ?? '', type: 'function', function: { name: '', arguments: '' } };
          this.tools[t.index] = call;
        }
        if (t.id) call.id = t.id;
        if (t.function?.name) call.function.name += t.function.name;
        if (t.function?.arguments) call.function.arguments += t.function.arguments;
      }
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
  }

  /** Characters of output so far (to estimate tokens when the upstream reported none). */
  outputChars(): number {
    return this.content.length + this.tools.reduce((n, t) => n + (t?.function.name.length ?? 0) + (t?.function.arguments.length ?? 0), 0);
  }

  result(usage: Usage): ChatCompletion {
    const tools = this.tools.filter(Boolean);
    return {
      id: this.id,
      object: 'chat.completion',
      created: this.created,
      model: this.model,
      ...(this.fingerprint !== undefined ? { system_fingerprint: this.fingerprint } : {}),
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: this.sawContent || tools.length === 0 ? this.content : null,
            ...(tools.length > 0 ? { tool_calls: tools } : {}),
            refusal: null,
          },
          finish_reason: this.finishReason ?? 'stop',
          logprobs: null,
        },
      ],
      usage,
    };
  }
}

/** A stored completion as the chunks a streaming client expects (usage separately, as OpenAI does). */
export function toChunks(c: ChatCompletion, id: string, created: number): ChatChunk[] {
  const base = { id, object: 'chat.completion.chunk' as const, created, model: c.model };
  const choice = c.choices[0];
  const out: ChatChunk[] = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: choice?.message.content ?? null }, finish_reason: null }] }];
  const tools = choice?.message.tool_calls ?? [];
  if (tools.length > 0) {
    out.push({
      ...base,
      choices: [{ index: 0, delta: { tool_calls: tools.map((t, index) => ({ index, id: t.id, type: 'function', function: { ...t.function } })) }, finish_reason: null }],
    });
  }
  out.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: choice?.finish_reason ?? 'stop' }] });
  return out;
}
