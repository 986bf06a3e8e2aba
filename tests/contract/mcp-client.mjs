// Drives Bruno's MCP endpoint with the official MCP TypeScript SDK (Streamable HTTP, a bearer header), as any MCP
// client would, and prints one JSON line of what it saw. The SDK itself validates each tool's structuredContent
// against its outputSchema. Environment: BRUNO_URL, BRUNO_TOKEN, BRUNO_QUERY, BRUNO_DOCUMENT (an id of the tenant's).
// Exits 1 with a message on any failure the SDK reports unexpectedly.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";

const transport = new StreamableHTTPClientTransport(new URL(`${process.env.BRUNO_URL}/mcp`), {
  requestInit: { headers: { Authorization: `Bearer ${process.env.BRUNO_TOKEN}` } },
});
const client = new Client({ name: "bruno-contract", version: "1.0.0" });
await client.connect(transport);

const tools = (await client.listTools()).tools;
const templates = (await client.listResourceTemplates()).resourceTemplates;
const resources = (await client.listResources()).resources;
const prompts = (await client.listPrompts()).prompts;

// callTool checks structuredContent against the tool's outputSchema and throws when it does not fit
const search = await client.callTool({ name: "search_knowledge", arguments: { query: process.env.BRUNO_QUERY, top_k: 2 } });
const list = await client.callTool({ name: "list_documents", arguments: { limit: 10 } });
const answer = await client.callTool({ name: "ask_agent", arguments: { question: process.env.BRUNO_QUERY } });

const read = await client.readResource({ uri: `bruno://documents/${process.env.BRUNO_DOCUMENT}` });
const prompt = await client.getPrompt({ name: "ask_with_citations", arguments: { question: process.env.BRUNO_QUERY } });

async function refusal(call) {
  try {
    await call();
    return null;
  } catch (e) {
    if (!(e instanceof McpError)) throw e;
    return { code: e.code, message: e.message, data: e.data ?? null };
  }
}
const invalid = await refusal(() => client.callTool({ name: "search_knowledge", arguments: { query: process.env.BRUNO_QUERY, top_k: 500 } }));
const unknown = await refusal(() => client.callTool({ name: "search_knowledge", arguments: { query: process.env.BRUNO_QUERY, tenant_id: "other" } }));

await client.close();
console.log(JSON.stringify({
  server: client.getServerVersion()?.name ?? null,
  tools: tools.map((t) => ({ name: t.name, title: t.title ?? null, arguments: Object.keys(t.inputSchema.properties ?? {}), output: t.outputSchema?.type ?? null })),
  templates: templates.map((t) => t.uriTemplate),
  resources: resources.map((r) => ({ uri: r.uri, title: r.title ?? null, mime: r.mimeType ?? null })),
  prompts: prompts.map((p) => ({ name: p.name, arguments: (p.arguments ?? []).map((a) => a.name) })),
  search: { is_error: search.isError ?? false, sources: search.structuredContent?.sources?.map((s) => s.document_id) ?? null },
  list: list.structuredContent?.items?.map((d) => d.id) ?? null,
  answer: { text: answer.structuredContent?.text ?? null, session_id: answer.structuredContent?.session_id ?? null },
  read: read.contents.map((c) => ({ uri: c.uri, mime: c.mimeType, text: c.text })),
  prompt: prompt.messages.map((m) => ({ role: m.role, type: m.content.type, text: m.content.text ?? null })),
  invalid,
  unknown,
}));
