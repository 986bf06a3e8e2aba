// Drives Bruno's OpenAI-compatible door with the official `openai` package, as any OpenAI client would, and prints one
// JSON line of what it saw. Environment: BRUNO_URL, BRUNO_API_KEY, BRUNO_MODEL (the tenant's), BRUNO_OTHER_MODEL
// (another tenant's), BRUNO_QUESTION. Exits 1 with a message on any failure the SDK reports unexpectedly.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: `${process.env.BRUNO_URL}/v1`, apiKey: process.env.BRUNO_API_KEY, maxRetries: 0 });
const model = process.env.BRUNO_MODEL;
const question = process.env.BRUNO_QUESTION;

const models = [];
for await (const m of client.models.list()) models.push(m.id);

const whole = await client.chat.completions.create({ model, messages: [{ role: "user", content: question }] });

const stream = await client.chat.completions.create({
  model,
  stream: true,
  stream_options: { include_usage: true },
  messages: [{ role: "user", content: question }],
});
let streamed = "";
let finish = null;
let citations = null;
let usage = null;
for await (const chunk of stream) {
  const choice = chunk.choices[0];
  if (choice?.delta?.content) streamed += choice.delta.content;
  if (choice?.finish_reason) {
    finish = choice.finish_reason;
    citations = chunk.citations ?? null;
  }
  if (chunk.usage) usage = chunk.usage;
}

let otherStatus = null;
let otherCode = null;
try {
  await client.chat.completions.create({ model: process.env.BRUNO_OTHER_MODEL, messages: [{ role: "user", content: question }] });
} catch (e) {
  if (!(e instanceof OpenAI.APIError)) throw e;
  otherStatus = e.status;
  otherCode = e.code ?? e.error?.code ?? null;
}

console.log(JSON.stringify({
  models,
  whole: whole.choices[0].message.content,
  whole_citations: whole.citations ?? null,
  streamed,
  finish,
  citations,
  usage,
  other_status: otherStatus,
  other_code: otherCode,
}));
