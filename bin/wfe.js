#!/usr/bin/env node
// Runs the compiled CLI; build it first with `npm run build`.
import process from 'node:process';

import { main } from '../dist/runtime/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
