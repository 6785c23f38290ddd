// Preloaded into a measured process: records its peak RSS (kB) where the benchmark asks.
process.on('exit', () => {
  if (process.env.BENCH_RSS_FILE) require('node:fs').writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS));
});
