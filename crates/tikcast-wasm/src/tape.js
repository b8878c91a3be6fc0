// Builds the event objects of one batch from the tape written by `src/tape.rs` (read
// its module docs for the layout). The opcodes below must equal the `OP_*` constants
// there; a wasm-bindgen test checks every one of them round-trips.
const END = 0xfffffff0;
const NULL = 0xfffffff1;
const FALSE = 0xfffffff2;
const TRUE = 0xfffffff3;
const STR = 0xfffffff4;
const NUM = 0xfffffff5;
const INT = 0xfffffff6;
const OBJ = 0xfffffff7;
const ARR = 0xfffffff8;
const EMPTY = 0xfffffff9;

const decoder = new TextDecoder();

/**
 * Appends one object per event to `out`.
 * @param {Uint32Array} ops
 * @param {Float64Array} nums
 * @param {Uint32Array} events  per event: first op, text byte start, text byte end
 * @param {Uint8Array} bytes    the UTF-8 text of every event
 * @param {string} keyText
 * @param {Uint32Array} keyRanges  per key: UTF-16 start and end in keyText
 * @param {unknown[]} out
 */
export function readTape(ops, nums, events, bytes, keyText, keyRanges, out) {
  const keys = new Array(keyRanges.length >>> 1);
  for (let i = 0; i < keys.length; i++) {
    keys[i] = keyText.slice(keyRanges[2 * i], keyRanges[2 * i + 1]);
  }
  let p = 0;
  let text = '';
  const value = () => {
    const op = ops[p++];
    switch (op) {
      case OBJ: {
        const o = {};
        for (let k = ops[p++]; k !== END; k = ops[p++]) o[keys[k]] = value();
        return o;
      }
      case STR: {
        const s = text.slice(ops[p], ops[p + 1]);
        p += 2;
        return s;
      }
      case INT:
        return ops[p++];
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
  for (let e = 0; e + 2 < events.length; e += 3) {
    p = events[e];
    const start = events[e + 1];
    const end = events[e + 2];
    text = end > start ? decoder.decode(bytes.subarray(start, end)) : '';
    out.push(value());
  }
  return out;
}
