// The start of a CSV read in the browser: the header and the first rows, to show sample values
// beside each column in the upload preview. How the columns map to fields is the API's answer
// (a dry run of batch/submit-csv), never decided here.

/** Bytes read for the sample: a header and a few rows fit many times over. */
export const SAMPLE_BYTES = 64 * 1024;

export interface CsvSample {
  header: string[];
  rows: string[][];
  /** The sample ended inside the bytes read: the file may hold more rows. */
  truncated: boolean;
}

/** RFC 4180 records of `text` (quotes, doubled quotes, commas and line breaks inside quotes; CRLF
 * or LF), at most `limit` of them, blank lines skipped as the API skips them. A record cut off at
 * the end of `text` is dropped when `partial` says the text is only the start of the file. */
export function parseCsvRecords(text: string, limit: number, partial = false): string[][] {
  const out: string[][] = [];
  let record: string[] = [];
  let cell = "";
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = () => {
    record.push(cell);
    cell = "";
    if (record.some((c) => c.trim() !== "")) out.push(record);
    record = [];
  };
  for (; i < text.length && out.length < limit; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      record.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRecord();
    } else cell += ch;
  }
  if (out.length < limit && !partial && (cell !== "" || record.length)) endRecord();
  return out;
}

export async function sampleCsv(file: File, rows = 5): Promise<CsvSample> {
  const partial = file.size > SAMPLE_BYTES;
  const text = await file.slice(0, SAMPLE_BYTES).text();
  const records = parseCsvRecords(text, rows + 1, partial);
  const [header = [], ...rest] = records;
  return { header: header.map((h) => h.trim()), rows: rest, truncated: partial };
}
