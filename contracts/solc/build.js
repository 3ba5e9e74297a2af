#!/usr/bin/env node
// build.js — compiles every Solidity file under contracts/src (recursively) with
// the pinned solc-js (package.json) in ONE standard-JSON input, optimizer on
// (200 runs), default EVM version, and writes one artifact per deployable
// contract with a non-empty ABI (libraries with only internal functions,
// interfaces and abstract contracts get none):
//
//   OUT_DIR/<ContractName>.json = {"contract","source","compiler","abi",
//                                  "bytecode","deployedBytecode"}
//
// pretty-printed and newline-terminated, so that the committed artifacts diff
// well and a rebuild is byte-for-byte stable. Stale *.json files in OUT_DIR are
// removed. Source names are paths relative to contracts/src with forward
// slashes ("Modex.sol", "test/EvilToken.sol"); imports resolve relative to
// contracts/src and are refused outside it. Two artifacts with the same
// contract name are an error.
//
// Usage: node contracts/solc/build.js [OUT_DIR] [--src DIR]
//
// OUT_DIR defaults to contracts/artifacts and --src to contracts/src (both
// next to this script). Errors go to stderr with exit status 1 (nothing is
// written); warnings go to stderr only. Exit status 2: solc is not installed.
'use strict';

const fs = require('fs');
const path = require('path');

let solc;
try {
  solc = require('solc');
} catch (e) {
  process.stderr.write('build.js: solc is not installed; run `make solc` (npm ci --prefix contracts/solc)\n');
  process.exit(2);
}

const RUNS = 200;

function usage(msg) {
  if (msg) process.stderr.write('build.js: ' + msg + '\n');
  process.stderr.write('usage: node build.js [OUT_DIR] [--src DIR]\n');
  process.exit(1);
}

function fail(msg) {
  process.stderr.write('build.js: ' + msg + '\n');
  process.exit(1);
}

const args = process.argv.slice(2);
let outDir = null;
let srcDir = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--src') {
    if (i + 1 >= args.length) usage('--src needs a directory');
    srcDir = args[++i];
  } else if (a.startsWith('--')) usage('unknown flag ' + a);
  else if (outDir === null) outDir = a;
  else usage('more than one output directory');
}
outDir = path.resolve(outDir === null ? path.join(__dirname, '..', 'artifacts') : outDir);
srcDir = path.resolve(srcDir === null ? path.join(__dirname, '..', 'src') : srcDir);
let srcReal;
try {
  srcReal = fs.realpathSync(srcDir);
} catch (e) {
  fail('no source directory ' + srcDir);
}

// solFiles returns the source names (relative, '/'-separated) of every .sol
// file under dir, sorted.
function solFiles(dir, prefix) {
  const names = [];
  const entries = fs.readdirSync(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const rel = prefix === '' ? e.name : prefix + '/' + e.name;
    if (e.isDirectory()) names.push(...solFiles(path.join(dir, e.name), rel));
    else if (e.isFile() && e.name.endsWith('.sol')) names.push(rel);
  }
  return names;
}

// inside reports whether p (absolute) is srcReal or below it, after symlinks.
function inside(p) {
  let real;
  try {
    real = fs.realpathSync(p);
  } catch (e) {
    return null; // does not exist
  }
  return real.startsWith(srcReal + path.sep) ? real : false;
}

const names = solFiles(srcReal, '');
if (names.length === 0) fail('no .sol files under ' + srcDir);

const sources = {};
for (const n of names) sources[n] = { content: fs.readFileSync(path.join(srcReal, ...n.split('/')), 'utf8') };

// Every file under src is already an input; the callback only sees imports of
// source units that are not (a missing file, or a path outside src).
function findImports(p) {
  if (path.isAbsolute(p)) return { error: 'import outside contracts/src: ' + p };
  const candidate = path.resolve(srcReal, p);
  if (!candidate.startsWith(srcReal + path.sep)) return { error: 'import outside contracts/src: ' + p };
  const real = inside(candidate);
  if (real === null) return { error: 'not found: ' + p };
  if (real === false) return { error: 'import outside contracts/src: ' + p };
  try {
    return { contents: fs.readFileSync(real, 'utf8') };
  } catch (e) {
    return { error: 'cannot read ' + p + ': ' + e.message };
  }
}

const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: RUNS },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};

const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
let failed = false;
for (const e of out.errors || []) {
  process.stderr.write((e.formattedMessage || e.message) + '\n');
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);

const compiler = solc.version();
const artifacts = new Map(); // contract name -> {source, json}
for (const source of Object.keys(out.contracts || {}).sort()) {
  const units = out.contracts[source];
  for (const name of Object.keys(units).sort()) {
    const c = units[name];
    const bytecode = c.evm.bytecode.object;
    if (bytecode.length === 0 || !Array.isArray(c.abi) || c.abi.length === 0) continue;
    if (artifacts.has(name)) {
      fail('contract ' + name + ' is defined in both ' + artifacts.get(name).source + ' and ' + source +
        '; artifacts are named by contract, rename one');
    }
    const artifact = {
      contract: name,
      source,
      compiler,
      abi: c.abi,
      bytecode: '0x' + bytecode,
      deployedBytecode: '0x' + c.evm.deployedBytecode.object,
    };
    artifacts.set(name, { source, json: JSON.stringify(artifact, null, 2) + '\n' });
  }
}
if (artifacts.size === 0) process.stderr.write('build.js: warning: no deployable contract with an ABI under ' + srcDir + '\n');

fs.mkdirSync(outDir, { recursive: true });
const keep = new Set();
for (const [name, a] of artifacts) {
  const file = name + '.json';
  keep.add(file);
  const dst = path.join(outDir, file);
  let old = null;
  try {
    old = fs.readFileSync(dst, 'utf8');
  } catch (e) {
    // new artifact
  }
  if (old !== a.json) fs.writeFileSync(dst, a.json);
}
for (const e of fs.readdirSync(outDir, { withFileTypes: true })) {
  if (e.isFile() && e.name.endsWith('.json') && !keep.has(e.name)) fs.unlinkSync(path.join(outDir, e.name));
}
