import { describe, expect, it } from "vitest";
import { parseCsvRecords } from "./csv";

describe("parseCsvRecords", () => {
  it("reads quotes, doubled quotes, commas and line breaks inside quotes, and CRLF", () => {
    const text = '\ufeffName,Notes\r\n"Acme, Inc.","said ""hi""\non two lines"\r\nGlobex,\r\n';
    expect(parseCsvRecords(text, 10)).toEqual([
      ["Name", "Notes"],
      ["Acme, Inc.", 'said "hi"\non two lines'],
      ["Globex", ""],
    ]);
  });

  it("skips blank lines as the API does and stops at the limit", () => {
    expect(parseCsvRecords("a\n\n1\n,\n2\n3\n", 3)).toEqual([["a"], ["1"], ["2"]]);
  });

  it("keeps a last line without a line break, unless the text is only the start of the file", () => {
    expect(parseCsvRecords("a,b\n1,2", 10)).toEqual([["a", "b"], ["1", "2"]]);
    expect(parseCsvRecords("a,b\n1,2", 10, true)).toEqual([["a", "b"]]);
  });
});
