// Reads a tikcast recording (docs/recording.md, versions 1 and 2) in the page and plays it
// into a `frames` connection, for the widgets' `replay` attribute (a preview that needs no
// relay and no account), and for www/overlay.js's `?replay=` (the one copy of this reader
// in the repository): the header, then every record up to the first torn or corrupt one. A
// damaged version 2 metadata block is reported (`headerError`, `meta` null) and the records
// are played; a damaged prefix, which the CLI recovers from by scanning, is an error here
// (`tikcast replay FILE --info` says what is wrong).

const MAGIC = 'TKCSTREC';
const HEAD = 17;

/** One record of a recording: kind 1 is a push frame, 2 a text message (roomInfo JSON). */
export interface RecordingRecord {
  kind: 1 | 2;
  tMs: number;
  body: Uint8Array;
}

/** A parsed recording. `meta` is null when the header checksum fails (`headerError` says so). */
export interface Recording {
  version: number;
  meta: Record<string, unknown> | null;
  headerError: string | null;
  records: RecordingRecord[];
  tornBytes: number;
}

let table: number[] | undefined;
function crc32(bytes: Uint8Array): number {
  table ??= Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let c = 0xffffffff;
  for (const b of bytes) c = table[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The record's checksum: over kind, the 8 bytes of t_ms and the body. */
function crc32Of(bytes: Uint8Array, at: number, len: number): number {
  const covered = new Uint8Array(9 + len);
  covered.set(bytes.subarray(at + 4, at + 13), 0);
  covered.set(bytes.subarray(at + HEAD, at + HEAD + len), 9);
  return crc32(covered);
}

/** Parses a recording. Throws an `Error` saying what is wrong on a bad or damaged prefix. */
export function parseRecording(bytes: Uint8Array): Recording {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new Error('not a tikcast recording (bad magic)');
  }
  const version = view.getUint16(8, true);
  const metaLen = view.getUint32(12, true);
  let metaAt = 16;
  let headerError: string | null = null;
  if (version !== 1) {
    if (bytes.length < 24 || crc32(bytes.subarray(0, 16)) !== view.getUint32(16, true)) {
      throw new Error(`recording header: prefix checksum mismatch or unsupported version ${version}; run \`tikcast replay FILE --info\``);
    }
    if (version !== 2) throw new Error(`recording version ${version} is not supported (versions 1 and 2 are)`);
    metaAt = 24;
  }
  if (metaLen > 1 << 20 || metaAt + metaLen > bytes.length) throw new Error('recording header is truncated');
  const metaBytes = bytes.subarray(metaAt, metaAt + metaLen);
  if (version === 2) {
    const covered = new Uint8Array(16 + metaLen);
    covered.set(bytes.subarray(0, 16), 0);
    covered.set(metaBytes, 16);
    if (crc32(covered) !== view.getUint32(20, true)) headerError = 'recording header: checksum mismatch';
  }
  let meta: Record<string, unknown> | null = null;
  if (!headerError) {
    try {
      const parsed: unknown = JSON.parse(new TextDecoder().decode(metaBytes));
      meta = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
    } catch {
      headerError = 'recording header: metadata is not valid JSON';
    }
  }
  const records: RecordingRecord[] = [];
  let at = metaAt + metaLen;
  while (at + HEAD <= bytes.length) {
    const len = view.getUint32(at, true);
    const kind = bytes[at + 4];
    const tMs = Number(view.getBigUint64(at + 5, true));
    const crc = view.getUint32(at + 13, true);
    if ((kind !== 1 && kind !== 2) || at + HEAD + len > bytes.length) break;
    if (crc32Of(bytes, at, len) !== crc) break;
    records.push({ kind, tMs, body: bytes.slice(at + HEAD, at + HEAD + len) });
    at += HEAD + len;
  }
  return { version, meta, headerError, records, tornBytes: bytes.length - at };
}

/** Fetches and parses a recording; rejects with a message naming the URL. */
export async function loadRecording(url: string, signal?: AbortSignal): Promise<Recording> {
  const res = await fetch(url, { signal });
  if (!res.ok) throw new Error(`cannot load the recording ${url}: HTTP ${res.status}`);
  return parseRecording(new Uint8Array(await res.arrayBuffer()));
}

/**
 * Plays a recording's records in time (`speed` times faster): frames go to `pushFrame`,
 * text records (the relay's roomInfo JSON) to `onText`. Stops early when `signal` aborts.
 */
export async function playRecording(
  rec: Recording,
  pushFrame: (bytes: Uint8Array) => void,
  onText: (text: string) => void,
  options: { speed?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const speed = Math.max(0.01, options.speed ?? 1);
  const start = performance.now();
  for (const r of rec.records) {
    if (options.signal?.aborted) return;
    const wait = start + r.tMs / speed - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (options.signal?.aborted) return;
    if (r.kind === 2) onText(new TextDecoder().decode(r.body));
    else pushFrame(r.body);
  }
}
