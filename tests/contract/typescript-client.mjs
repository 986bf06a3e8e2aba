// Generates a TypeScript client from Bruno's OpenAPI document with openapi-typescript, then compiles the README's
// TypeScript examples (```ts blocks) against it with `tsc --strict`, as a user of the API would. Environment:
// BRUNO_OPENAPI (the document, a file), BRUNO_README (the README), BRUNO_MISUSE (optional: TypeScript that misuses the
// API and must NOT compile, proving the types bind). Prints one JSON line: the examples compiled, the errors of each
// file, and the type the client gives a query's answer. With BRUNO_URL and BRUNO_TOKEN, the examples then run against
// that server, and what they printed is reported too.
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { spawnSync } from "node:child_process";
import openapiTS, { astToString } from "openapi-typescript";

const here = dirname(fileURLToPath(import.meta.url));
// inside tests/contract, so the examples resolve openapi-fetch from its node_modules
const work = mkdtempSync(join(here, ".generated-"));
try {
  const ast = await openapiTS(pathToFileURL(process.env.BRUNO_OPENAPI));
  writeFileSync(join(work, "bruno-api.d.ts"), astToString(ast));

  const readme = readFileSync(process.env.BRUNO_README, "utf8");
  const examples = [...readme.matchAll(/```(?:ts|typescript)\n([\s\S]*?)```/g)].map((m) => m[1]);
  const files = examples.map((code, i) => {
    const name = `readme-example-${i + 1}.ts`;
    writeFileSync(join(work, name), code);
    return name;
  });
  if (process.env.BRUNO_MISUSE) {
    writeFileSync(join(work, "misuse.ts"), process.env.BRUNO_MISUSE);
    files.push("misuse.ts");
  }
  // what the generated client says a query's answer is (`never` would mean the response has no schema)
  writeFileSync(
    join(work, "probe.ts"),
    'import type { paths } from "./bruno-api";\n' +
      'type Answer = paths["/api/v1/query"]["post"]["responses"][200]["content"]["application/json"]["answer"];\n' +
      "export const answer: Answer = \"\";\n",
  );
  files.push("probe.ts");

  const tsc = join(here, "node_modules", "typescript", "bin", "tsc");
  const compilerOptions = {
    strict: true, noEmit: true, target: "es2022", module: "esnext", moduleResolution: "bundler",
    lib: ["es2022", "dom"], types: [], pretty: false,
  };
  writeFileSync(join(work, "tsconfig.json"), JSON.stringify({ compilerOptions, files }));
  const result = spawnSync(process.execPath, [tsc, "-p", work], { cwd: work, encoding: "utf8" });
  const errors = {};
  for (const line of (result.stdout + result.stderr).split("\n")) {
    const m = /^([\w.-]+\.ts)\(\d+,\d+\): error (.*)$/.exec(line.trim());
    if (m) (errors[m[1]] ??= []).push(m[2]);
    else if (line.includes("error TS")) (errors["(tsc)"] ??= []).push(line.trim());
  }
  // With a server to call (BRUNO_URL, BRUNO_TOKEN), the examples also run: compiled to JavaScript by the same compiler,
  // the README's address and token placeholder replaced, each run with Node; what they print is reported.
  const runs = [];
  if (process.env.BRUNO_URL && process.env.BRUNO_TOKEN && !Object.keys(errors).some((f) => f.startsWith("readme-example"))) {
    const ts = (await import("typescript")).default;
    for (const [i, code] of examples.entries()) {
      const js = ts.transpileModule(code, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText
        .replaceAll("http://127.0.0.1:8080", process.env.BRUNO_URL)
        .replaceAll("<a token or API key of the tenant>", process.env.BRUNO_TOKEN);
      const file = join(work, `readme-example-${i + 1}.mjs`);
      writeFileSync(file, js);
      const run = spawnSync(process.execPath, [file], { cwd: work, encoding: "utf8", timeout: 60_000 });
      runs.push({ exit: run.status, stdout: run.stdout, stderr: run.stderr.slice(0, 2000) });
    }
  }
  console.log(JSON.stringify({ examples: examples.length, files, errors, exit: result.status, runs }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
