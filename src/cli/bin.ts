#!/usr/bin/env node
// The `backhaul` executable: everything testable lives in main.ts.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
