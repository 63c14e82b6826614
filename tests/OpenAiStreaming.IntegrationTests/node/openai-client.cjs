// Drives the official `openai` package (found through NODE_PATH) against a test server and prints one JSON object
// per line on stdout, so the C# test can follow along:
//   node openai-client.cjs <baseURL> stream     -> {"event":"content","text":...}... {"event":"done","text":...,"finishReason":...}
//   node openai-client.cjs <baseURL> abort <n>  -> aborts through AbortController after n content chunks, prints
//                                                  {"event":"aborted",...}, then stays alive until stdin closes
//   node openai-client.cjs <baseURL> error      -> {"event":"error","name":...,"message":...,"status":...}
//   node openai-client.cjs <baseURL> logprobs <model> -> streams and then asks whole for logprobs (top 3) with n = 2;
//                                                  {"event":"logprobs","streamed":{...},"whole":{...}}, each with per
//                                                  choice text, finish reason and logprob entries, and the usage
//   node openai-client.cjs <baseURL> tools <model> -> streams a request with a tool; {"event":"tools","calls":[...],...}
'use strict';
const OpenAI = require('openai');

const [baseURL, mode, countArg] = process.argv.slice(2);
const print = (value) => process.stdout.write(JSON.stringify(value) + '\n');

async function logprobs(client, model) {
  const request = { model, messages: [{ role: 'user', content: 'The pump' }], max_tokens: 12, seed: 5, n: 2, logprobs: true, top_logprobs: 3 };
  const streamed = { text: ['', ''], finishReasons: [null, null], logprobs: [[], []], usage: null, chunks: 0 };
  const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
  for await (const chunk of stream) {
    streamed.chunks++;
    if (chunk.usage) streamed.usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.delta?.content) streamed.text[choice.index] += choice.delta.content;
      if (choice.logprobs?.content) streamed.logprobs[choice.index].push(...choice.logprobs.content);
      if (choice.finish_reason) streamed.finishReasons[choice.index] = choice.finish_reason;
    }
  }
  const completion = await client.chat.completions.create(request);
  const whole = {
    text: completion.choices.map((c) => c.message.content),
    finishReasons: completion.choices.map((c) => c.finish_reason),
    logprobs: completion.choices.map((c) => c.logprobs.content),
    usage: completion.usage,
  };
  const legacy = await client.completions.create({ model, prompt: 'The pump', max_tokens: 5, logprobs: 2 });
  print({ event: 'logprobs', streamed, whole, legacy: { text: legacy.choices[0].text, logprobs: legacy.choices[0].logprobs } });
}

async function tools(client, model) {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Weather in Paris and Oslo?' }],
    stream: true,
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    tool_choice: 'auto',
    stream_options: { include_usage: true },
  });
  const calls = [];
  let finishReason = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    for (const delta of choice.delta?.tool_calls ?? []) {
      const call = (calls[delta.index] ??= { id: null, type: null, name: null, arguments: '', deltas: 0 });
      call.deltas++;
      if (delta.id) call.id = delta.id;
      if (delta.type) call.type = delta.type;
      if (delta.function?.name) call.name = delta.function.name;
      if (delta.function?.arguments) call.arguments += delta.function.arguments;
    }
    if (choice.finish_reason) finishReason = choice.finish_reason;
  }
  // The stream helper assembles the same calls from the same chunks.
  const runner = client.chat.completions.stream({
    model,
    messages: [{ role: 'user', content: 'Weather in Paris and Oslo?' }],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
  });
  const final = await runner.finalChatCompletion();
  print({ event: 'tools', calls, finishReason, usage, assembled: final.choices[0].message.tool_calls, assembledFinish: final.choices[0].finish_reason });
}

async function main() {
  const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 30000 });
  if (mode === 'logprobs') return logprobs(client, countArg);
  if (mode === 'tools') return tools(client, countArg);
  const controller = new AbortController();
  const abortAfter = mode === 'abort' ? Number(countArg ?? 1) : Infinity;
  let text = '';
  let finishReason = null;
  let contents = 0;
  try {
    const stream = await client.chat.completions.create(
      { model: 'test-model', messages: [{ role: 'user', content: 'Hello' }], stream: true },
      { signal: controller.signal });
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      if (choice.delta?.content) {
        text += choice.delta.content;
        contents++;
        print({ event: 'content', text: choice.delta.content });
        if (contents >= abortAfter) {
          controller.abort();
        }
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    if (controller.signal.aborted) {
      // The SDK's stream ends quietly when its own signal aborts it.
      aborted(null, text);
      return;
    }
    print({ event: 'done', text, finishReason });
  } catch (error) {
    if (controller.signal.aborted) {
      aborted(error, text);
      return;
    }
    print({ event: 'error', name: error?.constructor?.name, message: String(error?.message ?? error), status: error?.status ?? null, text });
  }
}

function aborted(error, text) {
  print({ event: 'aborted', name: error?.constructor?.name ?? null, text });
  // Stay alive (sockets and all) until the test closes stdin: the server must see the abort itself, not the process
  // exiting.
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

main().catch((error) => {
  process.stderr.write(String(error?.stack ?? error) + '\n');
  process.exit(1);
});
