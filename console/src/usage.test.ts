import { describe, expect, it } from "vitest";
import { costText, daysBetween, type Figures, usdText } from "./usage";

const figures = (f: Partial<Figures>): Figures => ({
  calls: 0,
  billable_calls: 0,
  cached_calls: 0,
  unpriced_calls: 0,
  credits: 0,
  usd: 0,
  ...f,
});

describe("cost texts", () => {
  it("says unknown, not 0, when no call of the group has a known price", () => {
    const f = figures({ calls: 7, unpriced_calls: 7 });
    expect(costText(f.credits, f, 2)).toBe("unknown");
    expect(usdText(f)).toBe("unknown");
  });

  it("says a partly known cost is more than its known part", () => {
    const f = figures({ calls: 3, billable_calls: 2, unpriced_calls: 1, credits: 2, usd: 0.02 });
    expect(costText(f.credits, f, 2)).toBe(`${(2).toLocaleString()} + unknown`);
  });

  it("says 0 for calls documented as free, and unknown USD when credits have no USD rate", () => {
    expect(costText(0, figures({ calls: 2 }), 2)).toBe("0");
    expect(usdText(figures({ calls: 2, billable_calls: 2, credits: 2 }))).toBe("unknown");
    expect(usdText(figures({ calls: 3, cached_calls: 3 }))).toBe("0");
  });
});

describe("daysBetween", () => {
  it("lists every UTC day of the range, both ends included, across a month end", () => {
    expect(daysBetween("2026-01-30", "2026-02-02")).toEqual(["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"]);
    expect(daysBetween("2026-02-02", "2026-01-30")).toEqual([]);
  });

  it("is bounded for a very long range", () => {
    expect(daysBetween("1900-01-01", "2100-01-01")).toHaveLength(366);
  });
});
