// The CLI run from the sources (through tsx), for integration tests that need it as a separate
// process (signals, concurrency) without depending on a fresh `npm run build`. Same entry as
// bin/dify-local.js, which runs the built dist/ instead.
import { main } from "../../src/cli/main.js";

process.exitCode = await main(process.argv);
