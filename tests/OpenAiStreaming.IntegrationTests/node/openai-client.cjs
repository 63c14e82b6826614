// Drives the official `openai` package (found through NODE_PATH) against a test server and prints one JSON object
// per line on stdout, so the C# test can follow along:
//   node openai-client.cjs <baseURL> stream     -> {"event":"content","text":...}... {"event":"done","text":...,"finishReason":...}
//   node openai-client.cjs <baseURL> abort <n>  -> aborts through AbortController after n content chunks, prints
//                                                  {"event":"aborted",...}, then stays alive until stdin closes
//   node openai-client.cjs <baseURL> error      -> {"event":"error","name":...,"message":...,"status":...}
'use strict';
const OpenAI = require('openai');

const [baseURL, mode, countArg] = process.argv.slice(2);
const print = (value) => process.stdout.write(JSON.stringify(value) + '\n');

async function main() {
  const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 30000 });
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
