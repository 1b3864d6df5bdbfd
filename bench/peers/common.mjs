// Shared helpers for the peer benchmarks: argument parsing, timing, output.
// Figures go to stdout as one JSON object per line; everything else to stderr.
import { performance } from 'node:perf_hooks';

export const env = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw Error(`${name}=${v}: expected a positive integer`);
  }
  return n;
};

// PEER_N sets the sequential and pipelined message counts at once.
export const settings = () => {
  const n = env('PEER_N', 2000);
  return {
    seqN: env('PEER_SEQ_N', n),
    pipeN: env('PEER_PIPE_N', n),
    launchM: env('PEER_LAUNCH_M', 50),
    reps: env('PEER_REPS', 3),
  };
};

export const log = (...args) => process.stderr.write(`${args.join(' ')}\n`);

export const emit = (system, workload, figure, unit, settingsText) => {
  process.stdout.write(
    `${JSON.stringify({
      system,
      workload,
      figure: Math.round(figure * 10) / 10,
      unit,
      settings: settingsText,
    })}\n`,
  );
};

export const median = xs => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// Runs fn() reps times, returning the median of count/seconds.
export const measure = async (label, reps, count, fn) => {
  const rates = [];
  for (let r = 0; r < reps; r += 1) {
    const t0 = performance.now();
    // eslint-disable-next-line no-await-in-loop
    await fn();
    const dt = (performance.now() - t0) / 1000;
    rates.push(count / dt);
    log(`  ${label} rep ${r + 1}/${reps}: ${(count / dt).toFixed(1)}/s (${dt.toFixed(2)} s)`);
  }
  return median(rates);
};

export const gc = () => {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
};

export const rssKB = () => process.memoryUsage().rss / 1024;
