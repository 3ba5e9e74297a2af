#!/usr/bin/env node
// compile.js — compiles one Solidity file with the pinned solc-js (package.json)
// through standard-JSON input, optimizer on, and prints one JSON object on stdout:
//
//   {"compiler":"0.8.37+commit…","contract":"Verifier","abi":[…],
//    "bytecode":"0x…","deployedBytecode":"0x…"}
//
// Usage: node contracts/solc/compile.js FILE.sol [--contract NAME]
//          [--evm-version VERSION] [--runs N]
//
// Without --contract the file must define exactly one deployable contract (the
// last one with bytecode is NOT guessed). Imports resolve relative to the file's
// directory. Errors go to stderr with exit status 1; warnings go to stderr only.
'use strict';

const fs = require('fs');
const path = require('path');

let solc;
try {
  solc = require('solc');
} catch (e) {
  process.stderr.write('compile.js: solc is not installed; run `make solc` (npm ci --prefix contracts/solc)\n');
  process.exit(2);
}

function usage(msg) {
  if (msg) process.stderr.write('compile.js: ' + msg + '\n');
  process.stderr.write('usage: node compile.js FILE.sol [--contract NAME] [--evm-version V] [--runs N]\n');
  process.exit(1);
}

const args = process.argv.slice(2);
let file = null;
let contractName = null;
let evmVersion = null;
let runs = 200;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--contract') contractName = args[++i];
  else if (a === '--evm-version') evmVersion = args[++i];
  else if (a === '--runs') runs = parseInt(args[++i], 10);
  else if (a.startsWith('--')) usage('unknown flag ' + a);
  else if (file === null) file = a;
  else usage('more than one input file');
}
if (!file) usage('no input file');
if (!Number.isInteger(runs) || runs < 1) usage('--runs needs a positive integer');

const abs = path.resolve(file);
const baseDir = path.dirname(abs);
const srcName = path.basename(abs);

const settings = {
  optimizer: { enabled: true, runs: runs },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};
if (evmVersion) settings.evmVersion = evmVersion;

const input = {
  language: 'Solidity',
  sources: { [srcName]: { content: fs.readFileSync(abs, 'utf8') } },
  settings,
};

function findImports(p) {
  const candidate = path.resolve(baseDir, p);
  if (!candidate.startsWith(baseDir + path.sep)) return { error: 'import outside ' + baseDir + ': ' + p };
  try {
    return { contents: fs.readFileSync(candidate, 'utf8') };
  } catch (e) {
    return { error: 'not found: ' + p };
  }
}

const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
let failed = false;
for (const e of out.errors || []) {
  process.stderr.write((e.formattedMessage || e.message) + '\n');
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);

const contracts = (out.contracts || {})[srcName] || {};
const deployable = Object.keys(contracts).filter((n) => contracts[n].evm.bytecode.object.length > 0);
if (contractName === null) {
  if (deployable.length !== 1) {
    usage('file defines ' + deployable.length + ' deployable contracts (' + deployable.join(', ') + '); pass --contract NAME');
  }
  contractName = deployable[0];
}
const c = contracts[contractName];
if (!c) usage('no contract ' + contractName + ' in ' + file + ' (have: ' + Object.keys(contracts).join(', ') + ')');

process.stdout.write(JSON.stringify({
  compiler: solc.version(),
  contract: contractName,
  abi: c.abi,
  bytecode: '0x' + c.evm.bytecode.object,
  deployedBytecode: '0x' + c.evm.deployedBytecode.object,
}) + '\n');
