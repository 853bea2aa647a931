/**
 * Durations as Kubernetes' metav1.Duration reads and writes them (Go time.ParseDuration and
 * Duration.String): `120s`, `2m`, `1h30m`, `1.5s`, `300ms`; stored and printed in Go's normal form, so
 * `maxRestartTime: 120s` comes back from `get -o yaml` as `2m0s`, exactly as calicoctl shows it.
 * Negative durations parse (Go accepts them); callers decide whether they make sense. Pure.
 */

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX_NS = (1n << 63n) - 1n;

/** Nanoseconds, or undefined when `text` is not a Go duration. */
export function parseDuration(text: string): bigint | undefined {
  let s = text;
  let neg = false;
  if (s.startsWith("-") || s.startsWith("+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") return undefined;
  let total = 0n;
  const re = /^([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (s !== "") {
    const m = re.exec(s);
    if (m === null) return undefined;
    const [whole, int = "", frac = "", unit = "s"] = m;
    if (int === "" && frac === "") return undefined;
    const scale = UNIT_NS[unit]!;
    total += BigInt(int === "" ? "0" : int) * scale;
    if (frac !== "") total += (BigInt(frac) * scale) / 10n ** BigInt(frac.length);
    if (total > MAX_NS) return undefined;
    s = s.slice(whole.length);
  }
  return neg ? -total : total;
}

/** Go's Duration.String(): "0s", "1.5ms", "2m0s", "1h0m0s", "-3s". */
export function formatDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  const sign = neg ? "-" : "";
  const frac = (v: bigint, digits: number): string => {
    const s = v.toString().padStart(digits, "0").replace(/0+$/, "");
    return s === "" ? "" : `.${s}`;
  };
  if (u < 1_000_000_000n) {
    if (u < 1_000n) return `${sign}${u}ns`;
    if (u < 1_000_000n) return `${sign}${u / 1_000n}${frac(u % 1_000n, 3)}µs`;
    return `${sign}${u / 1_000_000n}${frac(u % 1_000_000n, 6)}ms`;
  }
  const secs = `${(u / 1_000_000_000n) % 60n}${frac(u % 1_000_000_000n, 9)}s`;
  u /= 1_000_000_000n;
  if (u < 60n) return `${sign}${secs}`;
  const mins = (u / 60n) % 60n;
  const hours = u / 3600n;
  return hours > 0n ? `${sign}${hours}h${mins}m${secs}` : `${sign}${mins}m${secs}`;
}
