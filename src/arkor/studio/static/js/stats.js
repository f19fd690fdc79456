// Summary statistics of a metric series (the job page's "Advanced" view): mean with a 95% confidence
// interval (Student t for df <= 30, else 1.96), sample std dev and variance (n - 1), p90/p95 with
// linear interpolation between closest ranks (numpy's default).

// Two-sided 95% Student t critical values for df = 1..30.
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
  2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042];

export function tCritical95(df) {
  return df > 30 ? 1.96 : T95[df - 1];
}

export function percentile(sorted, p) {
  const rank = (sorted.length - 1) * p;
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]);
}

// {n, mean, ci95 (half-width, null for n < 2), std, variance (null for n < 2), p90, p95} or null when empty.
export function summarise(values) {
  const xs = values.filter((v) => typeof v === "number" && isFinite(v));
  const n = xs.length;
  if (!n) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : null;
  const std = variance === null ? null : Math.sqrt(variance);
  const ci95 = std === null ? null : tCritical95(n - 1) * std / Math.sqrt(n);
  const sorted = [...xs].sort((a, b) => a - b);
  return { n, mean, ci95, std, variance, p90: percentile(sorted, 0.9), p95: percentile(sorted, 0.95) };
}
