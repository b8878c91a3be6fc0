// Reads a tikcast recording (docs/recording.md, version 1) in the page, for `?replay=`:
// the header, then every record up to the first torn or corrupt one.

const MAGIC = 'TKCSTREC';
const HEAD = 17;

let table;
function crc32(bytes) {
  table ??= Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let c = 0xffffffff;
  for (const b of bytes) c = table[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * `{ meta, records: [{ kind, tMs, body }], tornBytes }`: kind 1 is a push frame, 2 a
 * text message (the upstream's roomInfo JSON). Throws on a bad header.
 */
export function parseRecording(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new Error('not a tikcast recording (bad magic)');
  }
  const version = view.getUint16(8, true);
  if (version !== 1) throw new Error(`recording version ${version} is not supported (this page reads version 1)`);
  const metaLen = view.getUint32(12, true);
  if (16 + metaLen > bytes.length) throw new Error('recording header is truncated');
  const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + metaLen)));
  const records = [];
  let at = 16 + metaLen;
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
  return { version, meta, records, tornBytes: bytes.length - at };
}

/** The record's checksum: over kind, the 8 bytes of t_ms and the body. */
function crc32Of(bytes, at, len) {
  const covered = new Uint8Array(9 + len);
  covered.set(bytes.subarray(at + 4, at + 13), 0);
  covered.set(bytes.subarray(at + HEAD, at + HEAD + len), 9);
  return crc32(covered);
}
