// Runs the MCP Inspector CLI (`mcp-inspector --cli URL --transport http --header ... --method M`) against an MCP
// endpoint for each method of BRUNO_METHODS (comma-separated; tools/list with --strict, which reports tool-schema
// portability problems in full and exits 6 on an error-severity one) and prints one JSON line: for each method its exit
// code, what it listed (names or URI templates), the problems it reported ("Error: tool ..." / "Warning: tool ..." with
// their issue) and its summary line. Environment: BRUNO_MCP_URL, BRUNO_TOKEN, BRUNO_METHODS.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const launcher = fileURLToPath(new URL("./node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js", import.meta.url));
const results = {};
for (const method of process.env.BRUNO_METHODS.split(",")) {
  const args = [launcher, "--cli", process.env.BRUNO_MCP_URL, "--transport", "http", "--header", `Authorization: Bearer ${process.env.BRUNO_TOKEN}`, "--method", method];
  if (method === "tools/list") args.push("--strict");
  const run = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 60_000 });
  let listed = null;
  try {
    const result = JSON.parse(run.stdout);
    listed = (result.tools ?? result.prompts ?? result.resourceTemplates ?? result.resources ?? []).map((x) => x.uriTemplate ?? x.uri ?? x.name);
  } catch {
    listed = null;
  }
  const lines = (run.stderr ?? "").split("\n");
  const problems = [];
  lines.forEach((line, i) => {
    if (/^(Error|Warning): tool /.test(line)) {
      const issue = lines.slice(i + 1, i + 4).find((l) => l.trim().startsWith("Issue:")) ?? "";
      const path = lines.slice(i + 1, i + 4).find((l) => l.trim().startsWith("Path:")) ?? "";
      problems.push(`${line.trim()} ${path.trim()} ${issue.trim().slice(0, 120)}`);
    }
  });
  results[method] = {
    exit: run.status,
    listed,
    problems,
    summary: lines.find((l) => /\d+ errors?, \d+ warnings? across/.test(l))?.trim() ?? null,
    stderr: run.status === 0 ? null : (run.stderr ?? "").slice(0, 2000),
  };
}
console.log(JSON.stringify(results));
