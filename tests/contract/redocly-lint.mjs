// Lints an OpenAPI document with Redocly's recommended rules and prints one JSON line: errors, warnings and the
// problems found (severity, rule, where). Environment: BRUNO_OPENAPI (the document's file).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("./node_modules/@redocly/cli/bin/cli.js", import.meta.url));
const run = spawnSync(process.execPath, [cli, "lint", process.env.BRUNO_OPENAPI, "--format=json", "--max-problems=1000"], { encoding: "utf8" });
const start = run.stdout.indexOf("{");
if (start < 0) {
  console.error(run.stderr || run.stdout);
  process.exit(1);
}
const report = JSON.parse(run.stdout.slice(start));
console.log(JSON.stringify({
  errors: report.totals.errors,
  warnings: report.totals.warnings,
  problems: report.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location?.[0]?.pointer ?? ""}`),
}));
