// Drives the official `openai` package's Responses API (found through NODE_PATH) against a test server and prints one
// JSON object per line on stdout:
//   node openai-responses.cjs <baseURL> stream        -> {"event":"done","text":...,"status":...,"sequence":[0,1,...],"types":[...]}
//   node openai-responses.cjs <baseURL> resume <n>    -> creates a background response, streams it again with
//                                                       retrieve(id, {stream: true, starting_after: n}): {"event":"done",...}
//   node openai-responses.cjs <baseURL> cancel        -> creates a background response, waits for in_progress, cancels:
//                                                       {"event":"cancelled","status":...,"again":...}
'use strict';
const OpenAI = require('openai');

const [baseURL, mode, countArg] = process.argv.slice(2);
const print = (value) => process.stdout.write(JSON.stringify(value) + '\n');

async function collect(stream) {
  let text = '';
  let status = null;
  const sequence = [];
  const types = [];
  for await (const event of stream) {
    sequence.push(event.sequence_number);
    types.push(event.type);
    if (event.type === 'response.output_text.delta') text += event.delta;
    if (event.response) status = event.response.status;
  }
  return { text, status, sequence, types };
}

async function main() {
  const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 30000 });
  try {
    if (mode === 'stream') {
      const stream = await client.responses.create({ model: 'test-model', input: 'Hello', stream: true });
      print({ event: 'done', ...(await collect(stream)) });
    } else if (mode === 'resume') {
      const created = await client.responses.create({ model: 'test-model', input: 'Hello', background: true });
      const stream = await client.responses.retrieve(created.id, { stream: true, starting_after: Number(countArg) });
      print({ event: 'done', createdStatus: created.status, ...(await collect(stream)) });
    } else if (mode === 'cancel') {
      const created = await client.responses.create({ model: 'test-model', input: 'Hello', background: true });
      let polled = created;
      while (polled.status === 'queued') {
        await new Promise((resolve) => setTimeout(resolve, 5));
        polled = await client.responses.retrieve(created.id);
      }
      const cancelled = await client.responses.cancel(created.id);
      const again = await client.responses.cancel(created.id);
      print({ event: 'cancelled', status: cancelled.status, again: again.status });
    }
  } catch (error) {
    print({ event: 'error', name: error?.constructor?.name, message: String(error?.message ?? error), status: error?.status ?? null });
  }
}

main();
