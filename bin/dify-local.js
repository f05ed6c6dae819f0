#!/usr/bin/env node
// Thin launcher so `npx dify-local` works from a clone once `npm install` has built dist/.
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv);
