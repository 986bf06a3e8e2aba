// LanceDB on a dataset in the shared format (docs/benchmarks.md), one database (folder) per tenant, the design Bruno
// replaces. Writes JSON with the measure names and shapes of bench/Bruno.Storage.Benchmarks, so that its --compare
// mode can put both side by side.
//
//   node bench/lancedb/run.mjs [--multi DIR] [--large DIR] [--out FILE] [--only all|multi|cold|large] [--work DIR]
//
// multi: every tenant ingested by its own client (batches of 1,000, each awaited), four tenants at once as the C#
// harness does; exact (flat, no index) and user-filtered searches with recall@10 against truth; the mixed loop over all
// tenants open, tenant and query drawn from the format's mulberry32 sequence. large: one client ingesting all rows,
// exact search (50 queries), an IVF_HNSW_SQ index (its build time) and approximate search, filtered by user.
// cold: a 10,000-row tenant (the large dataset's first rows) opened from a new connection until its first query.
import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as lancedb from '@lancedb/lancedb';
import { loadManifest, machine, mixedSequence, readFloats, sequenceSha } from './format.mjs';

const { values: opts } = parseArgs({
  options: {
    multi: { type: 'string' },
    large: { type: 'string' },
    out: { type: 'string', default: 'bench/results/lancedb.json' },
    only: { type: 'string', default: 'all' },
    work: { type: 'string' },
  },
});

process.env.LANCE_INCLUDE_VECTOR_CENTROIDS ??= 'false'; // silences a notice about index statistics
const require = createRequire(import.meta.url);
const engineVersion = JSON.parse(readFileSync(path.join(path.dirname(require.resolve('@lancedb/lancedb')), '..', 'package.json'), 'utf8')).version;
const work = path.resolve(opts.work ?? path.join(os.tmpdir(), `lancedb-bench-${process.pid}`));
const K = 10;
const BATCH = 1000;

function fail(message) {
  console.error(message);
  process.exit(1);
}

async function load(dir) {
  let loaded;
  try {
    loaded = await loadManifest(dir);
  } catch (e) {
    fail(e.message);
  }
  const { manifest } = loaded;
  const tenants = manifest.tenants.map((t) => {
    const d = path.join(dir, t.dir);
    return {
      id: t.tenant_id,
      ...indexRows(path.join(d, 'rows.jsonl')),
      vectorsFile: path.join(d, 'vectors.f32'),
      queries: readFloats(path.join(d, 'queries.f32')),
      truth: JSON.parse(readFileSync(path.join(d, 'truth.json'), 'utf8')),
      truthU3: JSON.parse(readFileSync(path.join(d, 'truth_u3.json'), 'utf8')),
    };
  });
  const info = { path: path.resolve(dir), manifest_sha256: loaded.manifestSha, verified: loaded.verified, format_version: manifest.format_version ?? 1, generator: manifest.generator ?? null };
  return { manifest, info, tenants, D: manifest.D, K: manifest.K ?? K };
}

// Per-query latencies; qps is the count over the time spent inside the timed calls, as the C# harness's Lat does.
class Lat {
  ms = [];
  async time(work) {
    const start = process.hrtime.bigint();
    const r = await work();
    this.ms.push(Number(process.hrtime.bigint() - start) / 1e6);
    return r;
  }
  json(recall) {
    const s = [...this.ms].sort((a, b) => a - b);
    const p = (q) => round(s[Math.min(s.length - 1, Math.floor(q * s.length))], 3);
    const j = { queries: s.length, p50_ms: p(0.5), p95_ms: p(0.95), p99_ms: p(0.99), qps: Math.round(s.length / (s.reduce((a, b) => a + b, 0) / 1000)) };
    if (recall !== undefined) j.recall_at_10 = round(recall, 4);
    return j;
  }
}

const round = (x, digits) => Math.round(x * 10 ** digits) / 10 ** digits;

// The dataset is read from its files as the run goes, as the C# harness reads it: only the row ids (for recall), the
// queries and the truth stay in memory, so peak RSS is the engine's. rows.jsonl is indexed once (each line's byte
// offset and the row's id); rows and vectors are then read by position.
function indexRows(file) {
  const fd = openSync(file, 'r');
  const chunk = Buffer.allocUnsafe(1 << 16);
  const starts = [];
  const ids = [];
  let carry = Buffer.alloc(0);
  let pos = 0; // the file offset of carry's first byte
  const endLine = (bytes, at) => {
    let line = bytes.toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.length > 0) {
      starts.push(at);
      ids.push(JSON.parse(line).id);
    }
  };
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let from = 0;
      for (let nl = data.indexOf(10, from); nl >= 0; nl = data.indexOf(10, from)) {
        endLine(data.subarray(from, nl), pos + from);
        from = nl + 1;
      }
      carry = Buffer.from(data.subarray(from));
      pos += from;
    }
    endLine(carry, pos);
    return { rowsFile: file, rowsBytes: fstatSync(fd).size, starts, ids, count: ids.length };
  } finally {
    closeSync(fd);
  }
}

function readExactly(file, into, position) {
  const fd = openSync(file, 'r');
  try {
    for (let done = 0; done < into.length;) {
      const n = readSync(fd, into, done, into.length - done, position + done);
      if (n === 0) fail(`${file} ends before byte ${position + into.length}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

// Rows [start, start + count) with their vectors, as the records a table takes.
function records(t, start, count, D) {
  const end = start + count < t.count ? t.starts[start + count] : t.rowsBytes;
  const bytes = Buffer.allocUnsafe(end - t.starts[start]);
  readExactly(t.rowsFile, bytes, t.starts[start]);
  const lines = bytes.toString('utf8').split('\n').filter((l) => l.length > 0 && l !== '\r');
  const vectors = new Float32Array(count * D);
  readExactly(t.vectorsFile, new Uint8Array(vectors.buffer), start * D * 4);
  return lines.map((l, j) => {
    const r = JSON.parse(l);
    return { id: r.id, tenant_id: r.tenant_id, user_id: r.user_id, created_at: r.created_at, text: r.text, vector: vectors.subarray(j * D, (j + 1) * D) };
  });
}

// A tenant's own database folder holding one empty table, "chunks", whose schema is inferred from a row.
async function newTable(name, t, D) {
  const db = await lancedb.connect(path.join(work, name));
  const schema = lancedb.makeArrowTable(records(t, 0, 1, D)).schema;
  return { db, table: await db.createEmptyTable('chunks', schema) };
}

// The first `count` rows in batches of 1,000, each awaited before the next is sent.
async function ingest(table, t, D, count) {
  for (let start = 0; start < count; start += BATCH) {
    await table.add(records(t, start, Math.min(count, start + BATCH) - start, D));
  }
  return count;
}

function query(table, t, q, D, { exact = false, filter = null, metric = 'dot', ef = null } = {}) {
  let s = table.vectorSearch(t.queries.subarray(q * D, (q + 1) * D)).distanceType(metric).limit(K).select(['id', '_distance']); // _distance named: a bare ['id'] draws a deprecation notice per query
  if (exact) s = s.bypassVectorIndex();
  if (ef) s = s.ef(ef);
  if (filter) s = s.where(filter);
  return s.toArray();
}

function hits(results, t, truth) {
  const want = new Set(truth.map((i) => t.ids[i]));
  return results.filter((r) => want.has(r.id)).length;
}

function duBytes(dir) {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

async function warmUp(t, D) {
  const { table } = await newTable('warmup', t, D);
  await ingest(table, t, D, Math.min(t.count, 5000));
  for (let q = 0; q < 50; q++) await query(table, t, q % (t.queries.length / D), D, { exact: true });
  rmSync(path.join(work, 'warmup'), { recursive: true, force: true });
}

async function multi(data) {
  const { D } = data;
  await warmUp(data.tenants[0], D);
  const open = [];
  for (const t of data.tenants) open.push({ t, ...(await newTable(`multi-${t.id}`, t, D)) });

  let rows = 0;
  const start = process.hrtime.bigint();
  let nextTenant = 0;
  const client = async () => {
    while (nextTenant < open.length) {
      const o = open[nextTenant++];
      rows += await ingest(o.table, o.t, D, o.t.count);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, open.length) }, client));
  const ingestRate = rows / (Number(process.hrtime.bigint() - start) / 1e9);

  const exact = new Lat();
  const filtered = new Lat();
  let hit = 0;
  let hitU3 = 0;
  let total = 0;
  for (const { t, table } of open) {
    for (let q = 0; q < t.queries.length / D; q++) {
      hit += hits(await exact.time(() => query(table, t, q, D, { exact: true })), t, t.truth[q]);
      hitU3 += hits(await filtered.time(() => query(table, t, q, D, { exact: true, filter: "user_id = 'u3'" })), t, t.truthU3[q]);
      total += K;
    }
  }

  const mixed = new Lat();
  const sequence = mixedSequence(data.manifest);
  for (const [ti, q] of sequence) {
    const { t, table } = open[ti];
    await mixed.time(() => query(table, t, q, D));
  }

  const bytes = open.map((o) => duBytes(path.join(work, `multi-${o.t.id}`)));
  const average = bytes.reduce((a, b) => a + b, 0) / bytes.length;
  return {
    tenants: data.tenants.length,
    rows_per_tenant: data.tenants[0].count,
    dim: D,
    ingest_rows_per_s_4_tenants_at_once: Math.round(ingestRate),
    exact: exact.json(hit / total),
    filtered_u3: filtered.json(hitU3 / total),
    mixed_all_tenants_open: mixed.json(),
    mixed_sequence: { rng: 'mulberry32', seed: data.manifest.seed, queries: mixed.ms.length, sha256: sequenceSha(sequence) },
    disk_bytes_per_tenant: Math.round(average),
    disk_bytes_per_row: Math.round(average / data.tenants[0].count),
    search: 'flat (no index): bypassVectorIndex for exact and filtered; the mixed loop has no index to use either',
  };
}

async function large(data) {
  const { D } = data;
  const t = data.tenants[0];
  await warmUp(t, D);
  const { table } = await newTable('large', t, D);
  let start = process.hrtime.bigint();
  await ingest(table, t, D, t.count);
  const ingestRate = t.count / (Number(process.hrtime.bigint() - start) / 1e9);

  const exact = new Lat();
  let exactHit = 0;
  const exactQueries = Math.min(50, t.queries.length / D);
  for (let q = 0; q < exactQueries; q++) exactHit += hits(await exact.time(() => query(table, t, q, D, { exact: true })), t, t.truth[q]);

  // IVF_HNSW_SQ: LanceDB's HNSW, built inside IVF partitions over scalar-quantised vectors, at its default settings.
  // Its distance is cosine, the same order as dot on these unit vectors: an index built for "dot" answered with recall@10
  // about 0.01 in LanceDB 0.31 (tried on 20,000 rows of this format), so it would measure a defect, not the design.
  start = process.hrtime.bigint();
  await table.createIndex('vector', { config: lancedb.Index.hnswSq({ distanceType: 'cosine' }) });
  const build = Number(process.hrtime.bigint() - start) / 1e9;
  const indices = await table.listIndices();

  const sweep = [];
  let atDefault = null;
  for (const ef of [32, 64, null, 128, 200]) {
    const lat = new Lat();
    let hit = 0;
    for (let q = 0; q < t.queries.length / D; q++) hit += hits(await lat.time(() => query(table, t, q, D, { metric: 'cosine', ef })), t, t.truth[q]);
    const j = { ...lat.json(hit / (K * lat.ms.length)), ef: ef === null ? 'default' : ef };
    if (ef === null) atDefault = j;
    sweep.push(j);
  }

  const filtered = new Lat();
  let fHit = 0;
  for (let q = 0; q < t.queries.length / D; q++) {
    fHit += hits(await filtered.time(() => query(table, t, q, D, { metric: 'cosine', filter: "user_id = 'u3'" })), t, t.truthU3[q]);
  }

  return {
    rows: t.count,
    dim: D,
    ingest_rows_per_s_one_client: Math.round(ingestRate),
    index_type: indices.map((i) => i.indexType).join(',') || 'IVF_HNSW_SQ',
    index_settings: 'Index.hnswSq({ distanceType: "cosine" }), defaults otherwise; queries nprobes default',
    hnsw_build_s: round(build, 1),
    approx_default: atDefault,
    approx_ef_sweep: sweep,
    exact_50_queries: exact.json(exactHit / (exactQueries * K)),
    filtered_u3: filtered.json(fHit / (K * filtered.ms.length)),
    disk_bytes: duBytes(path.join(work, 'large')),
  };
}

// A closed 10,000-row tenant: a new connection, open its table, answer one vector query; 15 times.
async function coldOpen(data) {
  const { D } = data;
  const t = data.tenants[0];
  const rows = Math.min(10_000, t.count);
  const { table } = await newTable('cold10k', t, D);
  await ingest(table, t, D, rows);
  table.close();
  const ms = [];
  for (let i = 0; i < 15; i++) {
    const start = process.hrtime.bigint();
    const db = await lancedb.connect(path.join(work, 'cold10k'));
    const cold = await db.openTable('chunks');
    await query(cold, t, 0, D);
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
    cold.close();
    db.close();
  }
  ms.sort((a, b) => a - b);
  return { rows, opens: ms.length, to_first_vector_query_ms: { p50: round(ms[Math.floor(ms.length / 2)], 1), min: round(ms[0], 1), max: round(ms[ms.length - 1], 1) } };
}

function peakRssMb() {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return round(Number.parseInt(line.split(/\s+/)[1], 10) / 1024, 1);
}

const only = opts.only;
const wantMulti = only === 'all' || only === 'multi';
const wantLarge = only === 'all' || only === 'large' || only === 'cold';
if (wantMulti && !opts.multi) fail('--multi DIR is needed for --only all|multi');
if (wantLarge && !opts.large) fail('--large DIR is needed for --only all|large|cold');

const result = {
  engine: 'lancedb',
  engine_version: engineVersion,
  date: new Date().toISOString(),
  machine: machine(),
  datasets: {},
};
mkdirSync(work, { recursive: true });
try {
  if (wantMulti) {
    const data = await load(opts.multi);
    result.datasets.multi = data.info;
    result.multi = await multi(data);
  }
  if (wantLarge) {
    const data = await load(opts.large);
    result.datasets.large = data.info;
    if (only !== 'large') result.cold_open = await coldOpen(data);
    if (only !== 'cold') result.large = await large(data);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
result.peak_rss_mb = peakRssMb();
const out = path.resolve(opts.out);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result, null, 2));
console.error(`written to ${out}`);
