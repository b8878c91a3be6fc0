// A run-time check that an event satisfies its TypeScript type: the shapes are read from
// js/src/events.generated.ts itself (the type source), so the check follows the types
// without a copy. The element shapes of arrays the types leave as `unknown[]` (hosts,
// armies, emotes, ...) come from NESTED_FIELDS in js/src/event-fields.ts, the one
// hand-maintained place (until the Rust schema tables generate it). Not a test file
// itself (node --test runs it too, and finds nothing to do).
import { readFileSync } from 'node:fs';

import { EVENT_FIELDS, NESTED_FIELDS, fieldsOf } from '../dist/event-fields.js';
import { REPO } from './helpers.mjs';

const SOURCE = readFileSync(`${REPO}js/src/events.generated.ts`, 'utf8');

/** `{ field: 'ts type' }` of an interface body. */
function members(body) {
  const out = {};
  for (const m of body.matchAll(/^ {2}(\w+): (.*);$/gm)) out[m[1]] = m[2];
  return out;
}

function iface(name) {
  const m = new RegExp(`export interface ${name}(?: extends (\\w+))? \\{\\n([\\s\\S]*?)\\n\\}`).exec(SOURCE);
  if (!m) throw new Error(`events.generated.ts has no interface ${name}`);
  return { ...(m[1] ? iface(m[1]) : {}), ...members(m[2]) };
}

/** Event name → `{ field: 'ts type' }`, every field including the common four. */
export const EVENT_TYPES = (() => {
  const map = /export interface WebcastEventMap \{\n([\s\S]*?)\n\}/.exec(SOURCE);
  const out = {};
  for (const [name, type] of Object.entries(members(map[1]))) out[name] = iface(type);
  return out;
})();

const USER = iface('User');

/** Fields the normaliser states are 64-bit ids: their strings must be decimal. */
function idFields(spec) {
  return new Set(fieldsOf(spec).filter(([, k]) => k === 'id').map(([f]) => f));
}
const EVENT_IDS = Object.fromEntries(Object.entries(EVENT_FIELDS).map(([n, s]) => [n, idFields(`msgId:id roomId:id ${s}`.trim())]));

/** Splits `a; b: { c; d }` at top-level `;` (the members of an inline object type). */
function splitTop(s, sep) {
  const parts = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '{' || ch === '<' || ch === '(') depth++;
    if (ch === '}' || ch === '>' || ch === ')') depth--;
    if (ch === sep && depth === 0) {
      parts.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) parts.push(cur.trim());
  return parts;
}

function checkObject(fields, value, path, problems, ids = new Set(), allowExtra = false) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${path}: expected an object, got ${JSON.stringify(value)}`);
    return;
  }
  for (const [f, t] of Object.entries(fields)) {
    if (!(f in value)) problems.push(`${path}.${f}: missing`);
    else checkType(t, value[f], `${path}.${f}`, problems);
    if (ids.has(f) && typeof value[f] === 'string' && !/^\d+$/.test(value[f])) problems.push(`${path}.${f}: id ${JSON.stringify(value[f])} is not a decimal string`);
  }
  for (const k of Object.keys(value)) {
    if (k in fields) continue;
    if (allowExtra && k === 'extra') {
      const x = value.extra;
      if (typeof x !== 'object' || x === null || Array.isArray(x)) problems.push(`${path}.extra: expected an object`);
      continue;
    }
    problems.push(`${path}.${k}: not in the type`);
  }
}

function nested(name) {
  return Object.fromEntries(
    fieldsOf(NESTED_FIELDS[name]).map(([f, k]) => [f, { s: 'string', id: 'string', n: 'number', b: 'boolean', 'U?': 'User | null', U: 'User' }[k] ?? k]),
  );
}

function checkType(t, v, path, problems) {
  const alts = splitTop(t, '|');
  if (alts.length > 1) {
    if (alts.includes('null') && v === null) return;
    return checkType(alts.filter((a) => a !== 'null').join(' | '), v, path, problems);
  }
  const bad = () => problems.push(`${path}: expected ${t}, got ${JSON.stringify(v)?.slice(0, 80)}`);
  if (/^'.*'$/.test(t)) return v === t.slice(1, -1) || bad();
  switch (t) {
    case 'string':
      return typeof v === 'string' || bad();
    case 'number':
      return (typeof v === 'number' && Number.isFinite(v)) || bad();
    case 'boolean':
      return typeof v === 'boolean' || bad();
    case 'User':
      return checkObject(USER, v, path, problems, new Set(['userId']));
    case 'unknown[]':
      return Array.isArray(v) || bad();
    case 'string[]':
      return (Array.isArray(v) && v.every((x) => typeof x === 'string')) || bad();
    case 'Record<string, unknown>':
      return (typeof v === 'object' && v !== null && !Array.isArray(v)) || bad();
  }
  let m = /^Array<(.*)>$/.exec(t);
  if (m) {
    if (!Array.isArray(v)) return bad();
    v.forEach((x, i) => checkType(m[1], x, `${path}[${i}]`, problems));
    return;
  }
  m = /^\{ (.*) \}$/.exec(t);
  if (m) {
    const fields = Object.fromEntries(splitTop(m[1], ';').map((p) => [p.slice(0, p.indexOf(':')).trim(), p.slice(p.indexOf(':') + 1).trim()]));
    return checkObject(fields, v, path, problems);
  }
  m = /^a<(\w+)>$/.exec(t);
  if (m) {
    if (!Array.isArray(v)) return bad();
    const ids = idFields(NESTED_FIELDS[m[1]]);
    v.forEach((x, i) => checkObject(nested(m[1]), x, `${path}[${i}]`, problems, ids));
    return;
  }
  problems.push(`${path}: the checker does not know the type ${t}`);
}

/**
 * What is wrong with `e` as the event its `type` names (an empty list when nothing):
 * every field of the type present with a value of its type, nothing else but `extra`,
 * ids as decimal strings, typed array elements in their nested shapes.
 */
export function shapeProblems(e) {
  const fields = EVENT_TYPES[e?.type];
  if (!fields) return [`type ${JSON.stringify(e?.type)} is not an event name`];
  const problems = [];
  // Arrays the types leave as `unknown[]` but the model types: check their elements too.
  const typed = { ...fields };
  for (const [f, k] of fieldsOf(EVENT_FIELDS[e.type] ?? '')) if (k.startsWith('a<')) typed[f] = k;
  checkObject(typed, e, e.type, problems, EVENT_IDS[e.type], true);
  return problems;
}
