/** A CGI program's answer head: `Status:` and the other header lines, up to the first empty line. */
export interface CgiHead {
  status: number;
  headers: Record<string, string>;
  /** What followed the head in the bytes read so far. */
  body: Buffer;
}

/** Parses the head once it has all arrived; undefined while the empty line that ends it has not. */
export function parseCgiHead(bytes: Buffer): CgiHead | undefined {
  const crlf = bytes.indexOf('\r\n\r\n');
  const lf = bytes.indexOf('\n\n');
  const [end, sep] = crlf >= 0 && (lf < 0 || crlf < lf) ? [crlf, 4] : [lf, 2];
  if (end < 0) return undefined;
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of bytes.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers, body: bytes.subarray(end + sep) };
}
