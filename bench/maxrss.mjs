// Preloaded (`node --import`) by the bench when GNU time is missing: writes the process's peak RSS in kB at exit.
import { writeFileSync } from "node:fs";

process.on("exit", () => {
  const file = process.env.BENCH_RSS_FILE;
  if (file) writeFileSync(file, String(process.resourceUsage().maxRSS));
});
