#!/usr/bin/env node
// The `tollgate` executable. The Node.js version is checked first (node-check.mjs is plain
// JavaScript); only then is the TypeScript command line loaded (Node 22.18+ strips types).
import './node-check.mjs';

await import('./tollgate.ts');
