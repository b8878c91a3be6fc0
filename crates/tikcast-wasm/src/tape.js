// Builds the event objects of one batch from the tape written by `src/tape.rs` (read
// its module docs for the layout, keys and shapes). The opcodes below must equal the
// `OP_*` constants there; a wasm-bindgen test checks every one of them round-trips.
const END = 0;
const NULL = 1;
const FALSE = 2;
const TRUE = 3;
const STR = 4;
const NUM = 5;
const INT = 6;
const OBJ = 7;
const ARR = 8;
const EMPTY = 9;
const WSTR = 10;
const KEY = 16;
const NO_SHAPE = 0xffffffff;
const MAP_KEY = 0x80000000;

// `ignoreBOM`: a string may start with U+FEFF, and a chunk with that string; the default
// decoder would drop it as a byte order mark and shift every range after it.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
// For the chunks of ASCII strings: Latin-1 is the same there, and decodes faster in
// browsers (Chromium ~15 %). Node decodes UTF-8 faster than Latin-1, so it keeps UTF-8
// (bench/RESULTS.md).
const ascii = globalThis.process?.versions?.node ? decoder : new TextDecoder('latin1');

/**
 * What the module's tapes have sent so far: the schema's key strings, the shapes (each
 * its parent shape and last key; shape 0 is the empty object) and each shape's function,
 * compiled when first used.
 */
export function newTapeCache(compile = true) {
  return { keys: [], parent: [0], last: [0], make: [], compile, proto: undefined, construct: [] };
}

/** The key names of `shape`, in order (null for a shape this cache was never sent). */
function shapeNames(cache, shape) {
  const names = [];
  for (let s = shape; s !== 0; s = cache.parent[s]) {
    if (s === undefined || names.length > 65536) return null;
    names.push(cache.keys[cache.last[s]]);
  }
  return names.reverse();
}

/** `new Function(...)`, or null where the page's Content-Security-Policy forbids it. */
function compile(cache, params, body) {
  if (!cache.compile) return null;
  try {
    return new Function(params, body);
  } catch {
    // A Content-Security-Policy without 'unsafe-eval': once is enough to know (each try
    // would report a violation again).
    cache.compile = false;
    return null;
  }
}

/** Key names a shape function may set as they are: none is `__proto__` (a literal or an
 * assignment would set the prototype). */
const plain = (names) => names !== null && names.every((n) => typeof n === 'string' && n !== '__proto__');

/**
 * A function making an object of this shape as a literal, its values read in order by
 * `v()`; `null` where it cannot be made (then the object is built key by key).
 */
function compileShape(cache, shape) {
  const names = shapeNames(cache, shape);
  if (!plain(names)) return null;
  return compile(cache, 'v', `return {${names.map((n) => `${JSON.stringify(n)}: v()`).join(', ')}};`);
}

/**
 * For an event of this shape with a `user` (and none of `proto`'s own names): a
 * constructor whose objects have `proto` as their prototype (the SDK's flat v2 sender
 * fields), so the event is made with it instead of getting it by `Object.setPrototypeOf`
 * afterwards. `null` for other shapes: those events are made plain.
 */
function compileEvent(cache, shape, proto) {
  const names = shapeNames(cache, shape);
  if (!plain(names) || !names.includes('user')) return null;
  const own = Object.getOwnPropertyNames(proto);
  if (names.some((n) => own.includes(n))) return null;
  const C = compile(cache, 'v', names.map((n) => `this[${JSON.stringify(n)}] = v();`).join('\n'));
  if (C !== null) C.prototype = proto;
  return C;
}

/**
 * Appends one object per event to `out`.
 * @param {ReturnType<typeof newTapeCache>} cache
 * @param {Uint32Array} ops
 * @param {Float64Array} nums
 * @param {Uint32Array} events  per event: first op, then its `text` chunk's byte start and
 *   end, then its `wide` chunk's
 * @param {Uint8Array} bytes    the ASCII strings, chunk after chunk
 * @param {Uint8Array} wideBytes  the other strings (UTF-8), chunk after chunk
 * @param {Uint8Array} keyBytes  schema key names not sent before (UTF-8)
 * @param {Uint32Array} keyRanges  per new key: UTF-16 start and end (from keyRanges[0])
 * @param {Uint8Array} mapKeyBytes  this batch's map keys (UTF-8)
 * @param {Uint32Array} mapKeyRanges  per map key: UTF-16 start and end in their decoded text
 * @param {Uint32Array} shapes  shapes not sent before: parent shape and last key, each
 * @param {object | undefined} proto  the prototype of events with a `user` (see compileEvent)
 * @param {unknown[]} out
 */
export function readTape(cache, ops, nums, events, bytes, wideBytes, keyBytes, keyRanges, mapKeyBytes, mapKeyRanges, shapes, proto, out) {
  const keys = cache.keys;
  // Most batches have neither new keys nor map keys: no call for them.
  const keyText = keyBytes.length > 0 ? decoder.decode(keyBytes) : '';
  const mapKeyText = mapKeyBytes.length > 0 ? decoder.decode(mapKeyBytes) : '';
  const base = keyRanges.length > 0 ? keyRanges[0] : 0;
  for (let i = 0; i + 1 < keyRanges.length; i += 2) {
    keys.push(keyText.slice(keyRanges[i] - base, keyRanges[i + 1] - base));
  }
  for (let i = 0; i + 1 < shapes.length; i += 2) {
    cache.parent.push(shapes[i]);
    cache.last.push(shapes[i + 1]);
  }
  const make = cache.make;
  if (proto !== cache.proto) {
    cache.proto = proto;
    cache.construct = [];
  }
  const construct = cache.construct;
  const mapKeys = new Array(mapKeyRanges.length >>> 1);
  for (let i = 0; i < mapKeys.length; i++) {
    mapKeys[i] = mapKeyText.slice(mapKeyRanges[2 * i], mapKeyRanges[2 * i + 1]);
  }
  let p = 0;
  // The decoded chunks the current event's strings are in, and where each starts.
  let text = '';
  let wide = '';
  let at = -1;
  let wideAt = -1;
  // The next value of an object made by a shape function: its key is skipped.
  const next = () => {
    p++;
    return value();
  };
  const value = () => {
    const op = ops[p++];
    switch (op) {
      case OBJ: {
        const shape = ops[p++];
        if (shape !== NO_SHAPE) {
          let f = make[shape];
          if (f === undefined) f = make[shape] = compileShape(cache, shape);
          if (f !== null) {
            const o = f(next);
            p++; // END
            return o;
          }
        }
        const o = {};
        for (let k = ops[p++]; k !== END; k = ops[p++]) {
          const name = k < MAP_KEY ? keys[k - KEY] : mapKeys[k - MAP_KEY];
          if (name === '__proto__') {
            // A map key from the wire: an own property, never the prototype.
            Object.defineProperty(o, name, { value: value(), enumerable: true, writable: true, configurable: true });
          } else {
            o[name] = value();
          }
        }
        return o;
      }
      case STR: {
        const s = text.slice(ops[p], ops[p + 1]);
        p += 2;
        return s;
      }
      case INT:
        return ops[p++];
      case WSTR: {
        const s = wide.slice(ops[p], ops[p + 1]);
        p += 2;
        return s;
      }
      case EMPTY:
        return '';
      case NULL:
        return null;
      case TRUE:
        return true;
      case FALSE:
        return false;
      case ARR: {
        const a = [];
        while (ops[p] !== END) a.push(value());
        p++;
        return a;
      }
      case NUM:
        return nums[ops[p++]];
      default:
        throw new Error(`tikcast: corrupt event tape (op ${op} at ${p - 1})`);
    }
  };
  for (let e = 0; e + 4 < events.length; e += 5) {
    p = events[e];
    if (events[e + 1] !== at) {
      at = events[e + 1];
      text = events[e + 2] > at ? ascii.decode(bytes.subarray(at, events[e + 2])) : '';
    }
    if (events[e + 3] !== wideAt) {
      wideAt = events[e + 3];
      wide = events[e + 4] > wideAt ? decoder.decode(wideBytes.subarray(wideAt, events[e + 4])) : '';
    }
    if (proto !== undefined && ops[p] === OBJ) {
      const shape = ops[p + 1];
      if (shape !== NO_SHAPE) {
        let C = construct[shape];
        if (C === undefined) C = construct[shape] = compileEvent(cache, shape, proto);
        if (C !== null) {
          p += 2;
          out.push(new C(next));
          continue;
        }
      }
    }
    out.push(value());
  }
  return out;
}

/**
 * `decodeFrame`'s result. Its five strings come as one `text`, cut at the UTF-16 `ends`
 * (one `TextDecoder` call instead of one per string and per key name).
 * @param {string} text
 * @param {Uint32Array} ends
 */
export function frameResult(text, ends, needAck, heartbeatDuration, nowMs, isFirst, events) {
  return {
    payloadType: text.slice(0, ends[0]),
    seqId: text.slice(ends[0], ends[1]),
    logId: text.slice(ends[1], ends[2]),
    cursor: text.slice(ends[2], ends[3]),
    internalExt: text.slice(ends[3], ends[4]),
    needAck,
    heartbeatDuration,
    nowMs,
    isFirst,
    events,
  };
}
