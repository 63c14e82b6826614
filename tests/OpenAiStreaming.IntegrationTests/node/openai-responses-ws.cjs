// Drives WebSocket mode on /v1/responses with the official `openai` package's ResponsesWS (openai 7.x,
// `openai/resources/beta/responses/ws`, which runs on the `ws` package; both found through NODE_PATH) and prints one
// JSON object on stdout:
//   node openai-responses-ws.cjs <baseURL>
//     -> {"event":"done","first":{...},"second":{...},"bad":{...},"after":{...},"pong":true,"serverKeepAlive":"pong"}
// It sends two response.create messages one after the other (the second with previous_response_id), then a message
// that is not JSON (expecting an `error` event), then a third response.create on the same socket
// (continuing the second), and checks ping/pong
// both ways: a ping it sends gets its pong, and the server's keep-alive frames arrive on an idle socket.
'use strict';
const OpenAI = require('openai');
const { ResponsesWS } = require('openai/resources/beta/responses/ws');

const [baseURL] = process.argv.slice(2);
const print = (value) => process.stdout.write(JSON.stringify(value) + '\n');
const terminal = new Set(['response.completed', 'response.incomplete', 'response.failed', 'error']);

function withTimeout(promise, what, ms = 15000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main() {
  const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 30000 });
  const rws = new ResponsesWS(client);
  const errors = [];
  let waiter = null;
  const collected = [];

  rws.on('event', (event) => {
    collected.push(event);
    if (waiter && terminal.has(event.type)) {
      const done = waiter;
      waiter = null;
      done(collected.splice(0));
    }
  });
  // The SDK raises server `error` events here too; they are expected for the bad message.
  rws.on('error', (error) => errors.push(String(error?.message ?? error)));

  const next = (what) => withTimeout(new Promise((resolve) => { waiter = resolve; }), what);
  const summary = (events) => ({
    types: events.map((e) => e.type),
    sequence: events.filter((e) => e.type !== 'error').map((e) => e.sequence_number),
    text: events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join(''),
    id: events.find((e) => e.response)?.response?.id ?? null,
    previous: events.find((e) => e.response)?.response?.previous_response_id ?? null,
    status: [...events].reverse().find((e) => e.response)?.response?.status ?? null,
  });

  try {
    let pending = next('the first response');
    rws.send({ type: 'response.create', model: 'test-model', input: 'first' });
    const first = summary(await pending);

    pending = next('the second response');
    rws.send({ type: 'response.create', model: 'test-model', input: 'second', previous_response_id: first.id });
    const second = summary(await pending);

    pending = next('the error event');
    rws.sendRaw('not json');
    const badEvents = await pending;
    const bad = badEvents[badEvents.length - 1];

    pending = next('the response after the error');
    rws.send({ type: 'response.create', model: 'test-model', input: 'after', previous_response_id: second.id });
    const after = summary(await pending);

    const socket = rws.socket.platformSocket;
    // .NET's keep-alive (KeepAliveInterval without KeepAliveTimeout) sends unsolicited pongs; with a timeout, pings.
    const serverKeepAlive = await withTimeout(new Promise((resolve) => {
      socket.once('ping', () => resolve('ping'));
      socket.once('pong', () => resolve('pong'));
    }), "the server's keep-alive frame");
    const pong = await withTimeout(new Promise((resolve) => {
      socket.on('pong', (data) => { if (data.toString() === 'are-you-there') resolve(true); });
      socket.ping('are-you-there');
    }), 'the pong to our ping');

    rws.close({ code: 1000, reason: 'done' });
    print({ event: 'done', first, second, bad, after, pong, serverKeepAlive, errors });
  } catch (error) {
    print({ event: 'error', name: error?.constructor?.name, message: String(error?.message ?? error), errors });
    rws.close({ code: 1000, reason: 'failed' });
  }
}

main();
