// Writes a dataset in the shared format, version 2 (docs/benchmarks.md), independently of the C# generator: every draw
// comes from one mulberry32 sequence seeded with --seed, in the order written below, so the same flags give the same bytes.
//
//   node bench/lancedb/gen.mjs --out DIR [--tenants 20] [--rows 5000] [--dim 384] [--queries 200] [--seed 2026]
//
// The data, per tenant: 8 topics (unit vectors); 24-95 centres, each normalise(0.55·topic + own direction) with its own
// spread σ ∈ [0.02, 0.07] per dimension and a Zipf-like weight (1/(rank+1)^0.9), so clusters differ in size and
// tightness; a row picks a centre by weight and is normalise(centre + σ·noise). Users are drawn uniformly from u0..u9 (so
// u3 holds about a tenth of the rows, not exactly every tenth row). Queries: even ones near a centre chosen by weight
// (spread 1.5σ), odd ones a random row plus 0.03 noise. Texts: 12-40 words from a syllable vocabulary, 70 % from the
// row's topic. created_at starts at 2026-01-01 and advances by 1-120 s per row.
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FORMAT_VERSION, MIXED_QUERIES, mulberry32, rowId, sha256Bytes, sha256File } from './format.mjs';

const K = 10;
const USERS = 10;
const TOPICS = 8;

const { values: opts } = parseArgs({
  options: {
    out: { type: 'string' },
    tenants: { type: 'string', default: '20' },
    rows: { type: 'string', default: '5000' },
    dim: { type: 'string', default: '384' },
    queries: { type: 'string', default: '200' },
    seed: { type: 'string', default: '2026' },
  },
});
if (!opts.out) {
  console.error('usage: node gen.mjs --out DIR [--tenants T] [--rows N] [--dim D] [--queries Q] [--seed S]');
  process.exit(2);
}

const [T, N, D, Q, seed] = ['tenants', 'rows', 'dim', 'queries', 'seed'].map((k) => Number.parseInt(opts[k], 10));
const root = path.resolve(opts.out);
const next = mulberry32(seed);

// Box-Muller, both values used; a spare is kept so the sequence of draws is fixed by the order of calls alone.
let spare = null;
function gaussian() {
  if (spare !== null) {
    const s = spare;
    spare = null;
    return s;
  }
  const u1 = 1 - next();
  const u2 = next();
  const r = Math.sqrt(-2 * Math.log(u1));
  spare = r * Math.sin(2 * Math.PI * u2);
  return r * Math.cos(2 * Math.PI * u2);
}

function normalise(v) {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

function randomUnit() {
  const v = new Float64Array(D);
  for (let i = 0; i < D; i++) v[i] = gaussian();
  return normalise(v);
}

function near(centre, sigma) {
  const v = new Float64Array(D);
  for (let i = 0; i < D; i++) v[i] = centre[i] + sigma * gaussian();
  return normalise(v);
}

function pick(cumulative) {
  const u = next() * cumulative[cumulative.length - 1];
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'su', 'ra', 'ti', 'vo', 'ze', 'pu', 'da', 'gri', 'fen', 'hol', 'jas', 'wyn'];
function word(i) {
  let w = '';
  let x = i;
  do {
    w += SYLLABLES[x % SYLLABLES.length];
    x = Math.floor(x / SYLLABLES.length);
  } while (x > 0);
  return w + 'x';
}
const VOCABULARY = Array.from({ length: 6000 }, (_, i) => word(i + 17));

// The exact top K by dot product over the float32 values (summed in double), best first, ties to the lower index.
function topK(vectors, query, include) {
  const best = []; // [score, index], kept sorted best first
  for (let i = 0; i < N; i++) {
    if (!include(i)) continue;
    let s = 0;
    const o = i * D;
    for (let j = 0; j < D; j++) s += query[j] * vectors[o + j];
    if (best.length === K && s <= best[K - 1][0]) continue;
    let at = best.length;
    while (at > 0 && best[at - 1][0] < s) at--;
    best.splice(at, 0, [s, i]);
    if (best.length > K) best.pop();
  }
  return best.map((b) => b[1]);
}

function writeLines(file, lines) {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(file);
    out.on('error', reject);
    out.on('finish', resolve);
    for (const l of lines) out.write(l);
    out.end();
  });
}

mkdirSync(root, { recursive: true });
const manifestTenants = [];
const sums = {};
const started = Date.now();
for (let t = 0; t < T; t++) {
  const tenantId = `t${String(t).padStart(3, '0')}`;
  const dir = `tenants/${tenantId}`;
  mkdirSync(path.join(root, dir), { recursive: true });

  const topics = Array.from({ length: TOPICS }, () => randomUnit());
  const centreCount = 24 + Math.floor(next() * 72);
  const centres = [];
  const cumulative = new Float64Array(centreCount);
  let total = 0;
  for (let c = 0; c < centreCount; c++) {
    const topic = Math.floor(next() * TOPICS);
    const own = randomUnit();
    const v = new Float64Array(D);
    for (let i = 0; i < D; i++) v[i] = 0.55 * topics[topic][i] + own[i];
    centres.push({ v: normalise(v), topic, sigma: 0.02 + next() * 0.05 });
    total += 1 / Math.pow(c + 1, 0.9);
    cumulative[c] = total;
  }

  const vectors = new Float32Array(N * D);
  const users = new Uint8Array(N);
  const lines = new Array(N);
  let createdAt = Date.UTC(2026, 0, 1);
  for (let r = 0; r < N; r++) {
    const centre = centres[pick(cumulative)];
    vectors.set(near(centre.v, centre.sigma), r * D);
    users[r] = Math.floor(next() * USERS);
    createdAt += 1000 + Math.floor(next() * 119_000);
    const words = 12 + Math.floor(next() * 29);
    const text = [];
    for (let w = 0; w < words; w++) {
      const own = next() < 0.7;
      text.push(VOCABULARY[own ? centre.topic * 750 + Math.floor(next() * 750) : Math.floor(next() * VOCABULARY.length)]);
    }
    lines[r] = JSON.stringify({ id: rowId(t, r), tenant_id: tenantId, user_id: `u${users[r]}`, created_at: createdAt, text: text.join(' ') }) + '\n';
  }

  const queries = new Float32Array(Q * D);
  for (let q = 0; q < Q; q++) {
    if (q % 2 === 0) {
      const centre = centres[pick(cumulative)];
      queries.set(near(centre.v, centre.sigma * 1.5), q * D);
    } else {
      const r = Math.floor(next() * N);
      queries.set(near(vectors.subarray(r * D, (r + 1) * D), 0.03), q * D);
    }
  }

  const truth = [];
  const truthU3 = [];
  for (let q = 0; q < Q; q++) {
    const query = queries.subarray(q * D, (q + 1) * D);
    truth.push(topK(vectors, query, () => true));
    truthU3.push(topK(vectors, query, (i) => users[i] === 3));
  }

  const files = {
    'vectors.f32': Buffer.from(vectors.buffer),
    'queries.f32': Buffer.from(queries.buffer),
    'truth.json': Buffer.from(JSON.stringify(truth)),
    'truth_u3.json': Buffer.from(JSON.stringify(truthU3)),
  };
  for (const [name, bytes] of Object.entries(files)) {
    writeFileSync(path.join(root, dir, name), bytes);
    sums[`${dir}/${name}`] = sha256Bytes(bytes);
  }
  await writeLines(path.join(root, dir, 'rows.jsonl'), lines);
  sums[`${dir}/rows.jsonl`] = await sha256File(path.join(root, dir, 'rows.jsonl'));
  manifestTenants.push({ tenant_id: tenantId, dir, rows: N, queries: Q });
  console.error(`${tenantId}: ${centreCount} centres, ${N} rows, ${Q} queries (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

const manifest = {
  format_version: FORMAT_VERSION,
  generator: 'bench/lancedb/gen.mjs',
  T,
  N,
  D,
  Q,
  K,
  seed,
  tenants: manifestTenants,
  metric: 'dot',
  normalised: true,
  users: USERS,
  mixed_queries: MIXED_QUERIES,
  sha256: sums,
};
writeFileSync(path.join(root, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
console.error(`written to ${root}`);
