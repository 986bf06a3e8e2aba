// The shared dataset format, version 2 (docs/benchmarks.md, "Dataset format"): what the generator and the LanceDB
// harness both need. The C# harness (bench/Bruno.Storage.Benchmarks/Dataset.cs) implements the same rules.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const FORMAT_VERSION = 2;

/** Queries in the mixed loop unless the manifest's `mixed_queries` says otherwise. */
export const MIXED_QUERIES = 4000;

/**
 * mulberry32: a 32-bit state advanced by 0x6D2B79F5, mixed, returned as a float in [0, 1) (the 32-bit result / 2^32).
 * Every random draw of the format comes from this sequence, so any language reproduces it bit for bit.
 */
export function mulberry32(seed) {
  let a = seed | 0;
  return function next() {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t = (t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The mixed loop's (tenant, query) pairs: a fresh mulberry32(seed); per step t = floor(next()·T), then q = floor(next()·Q). */
export function mixedSequence(manifest) {
  const next = mulberry32(manifest.seed);
  const count = manifest.mixed_queries ?? MIXED_QUERIES;
  const pairs = new Array(count);
  for (let i = 0; i < count; i++) {
    const t = Math.floor(next() * manifest.T);
    const q = Math.floor(next() * manifest.Q);
    pairs[i] = [t, q];
  }
  return pairs;
}

/** sha256 of the pairs written "t q\n" one after the other: equal in two harnesses' JSON means the same sequence ran. */
export function sequenceSha(pairs) {
  return sha256Bytes(Buffer.from(pairs.map(([t, q]) => `${t} ${q}\n`).join('')));
}

export function rowId(tenantIndex, row) {
  return `t${String(tenantIndex).padStart(3, '0')}-d${String(row).padStart(6, '0')}`;
}

export function sha256Bytes(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function sha256File(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Reads manifest.json and checks the sha256 of every file it names. Format 2 must name them all and match; a format 1
 * dataset has none and loads with verified = false. A mismatch throws (the caller prints one line and exits 1).
 */
export async function loadManifest(root) {
  const manifestPath = path.join(root, 'manifest.json');
  const bytes = readFileSync(manifestPath);
  const manifest = JSON.parse(bytes.toString('utf8'));
  const manifestSha = sha256Bytes(bytes);
  const sums = manifest.sha256;
  if (!sums) {
    if ((manifest.format_version ?? 1) >= 2) throw new Error(`${manifestPath}: format ${manifest.format_version} without sha256 values`);
    return { manifest, manifestSha, verified: false };
  }
  for (const t of manifest.tenants) {
    for (const f of TENANT_FILES) {
      const rel = `${t.dir}/${f}`;
      if (!sums[rel]) throw new Error(`${manifestPath}: no sha256 for ${rel}`);
    }
  }
  for (const [rel, want] of Object.entries(sums)) {
    const got = await sha256File(path.join(root, rel));
    if (got !== want) throw new Error(`sha256 mismatch: ${rel} is ${got}, the manifest says ${want}`);
  }
  return { manifest, manifestSha, verified: true };
}

export const TENANT_FILES = ['vectors.f32', 'rows.jsonl', 'queries.f32', 'truth.json', 'truth_u3.json'];

export function readFloats(file) {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function machine() {
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
  return {
    cores: os.availableParallelism(),
    os: `${os.type()} ${os.release()}`,
    runtime: `node ${process.versions.node}`,
    cpu: cpu ? cpu.split(':')[1].trim() : 'unknown',
    loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
  };
}
