// How the usage page reads `/api/usage/summary` figures (docs/costs.md). Pure: unit-tested.
import type { components } from "./api/schema";

export type Figures = components["schemas"]["UsageFigures"];

export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Every UTC day from `from` to `to` inclusive, so a quiet day is a gap in the chart, not skipped. */
export function daysBetween(from: string, to: string, max = 366): string[] {
  const out: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end && out.length < max; t += 86_400_000) {
    out.push(isoDay(new Date(t)));
  }
  return out;
}

/** Provider calls whose cost is known (cache answers cost nothing and are not provider calls). */
function pricedCalls(f: Figures): number {
  return f.calls - f.cached_calls - f.unpriced_calls;
}

/** A cost whose calls were all of unknown price is "unknown", never 0; a partly known one says so. */
export function costText(value: number, f: Figures, digits: number): string {
  const n = value.toLocaleString(undefined, { maximumFractionDigits: digits });
  if (f.unpriced_calls === 0) return n;
  return pricedCalls(f) <= 0 && value === 0 ? "unknown" : `${n} + unknown`;
}

/** USD is unknown too where credits are known but no USD rate is configured for the provider. */
export function usdText(f: Figures): string {
  if (f.credits > 0 && f.usd === 0) return "unknown";
  return costText(f.usd, f, 4);
}
