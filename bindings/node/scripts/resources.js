'use strict';
// The JSON shapes the library's operations answer with, and which operation
// answers with which, as the library's catalog declares them
// (billing_catalog_json: "shapes", and each operation's "output"; the shapes
// live in src/core/json_out.c beside the code that writes the objects, and
// descriptor objects' shapes come from their descriptors). Nothing here is
// a copy of them:
//
// - generate-types.js makes an interface per shape and types every method's
//   result with it (customers.get resolves to a Customer, not any);
// - test/shapes.test.js runs every operation against the library and checks
//   each answer against its shape: no field missing, none undeclared, every
//   value of its type.
//
// A field's type, as a string (billing/json.h):
//   string, integer, number (a decimal such as taxRate), boolean,
//   time (RFC 3339 UTC text), metadata (string values by the caller's keys),
//   object (any JSON object), 'a' | 'b' (one of these strings), true, null,
//   or the name of another shape;
//   a trailing [] makes an array of it, a trailing ? adds null.
// Here a trailing = (after all that) marks a field an answer may leave out
// (the catalog's "optional": a webhook endpoint's secret in a replay).

/** The catalog's shapes by name: { Customer: { doc, extends, fields: { id: 'string', ... } } }. */
function shapesOf(catalog) {
  const out = {};
  for (const s of catalog.shapes || []) {
    out[s.name] = {
      doc: s.doc,
      ...(s.extends ? { extends: s.extends } : {}),
      fields: Object.fromEntries(s.fields.map((f) => [f.name, f.type + (f.optional ? '=' : '')])),
    };
  }
  return out;
}

/** The shape name of an operation's answer (of each item, for a list). */
function resultShape(catalog, name) {
  const op = catalog.operations.find((o) => o.name === name);
  if (!op || !op.output || !op.output.shape) {
    throw new Error(`the catalog declares no output for ${name}`);
  }
  return op.output.shape;
}

/** Every field of a shape, its parent's first. */
function fieldsOf(shapes, name) {
  const s = shapes[name];
  if (!s) throw new Error(`the catalog has no shape ${name}`);
  return { ...(s.extends ? fieldsOf(shapes, s.extends) : {}), ...s.fields };
}

/** { base, array, nullable } of a field type string. */
function parseType(t) {
  let base = t.trim().replace(/=$/, '');
  const nullable = base.endsWith('?');
  if (nullable) base = base.slice(0, -1);
  const array = base.endsWith('[]');
  if (array) base = base.slice(0, -2);
  return { base, array, nullable };
}

const SCALARS = {
  string: 'string', time: 'string', integer: 'number', number: 'number', boolean: 'boolean',
  metadata: '{ [key: string]: string }', object: '{ [key: string]: unknown }', null: 'null',
  true: 'true',
};

/** The TypeScript type of a field type string. */
function tsOf(t) {
  const { base, array, nullable } = parseType(t);
  let ts = SCALARS[base] || base; // a shape's name, or a union of string literals
  if (array) ts = base.includes('|') ? `Array<${ts}>` : `${ts}[]`;
  return nullable ? `${ts} | null` : ts;
}

/** Problems of `value` against a field type string (empty when it fits). */
function check(shapes, value, t, where) {
  const { base, array, nullable } = parseType(t);
  if (value === null) return nullable || base === 'null' ? [] : [`${where}: null`];
  if (array) {
    if (!Array.isArray(value)) return [`${where}: not an array`];
    return value.flatMap((v, i) => check(shapes, v, base, `${where}[${i}]`));
  }
  const bad = [`${where}: ${JSON.stringify(value)} is not ${base}`];
  switch (base) {
    case 'string': return typeof value === 'string' ? [] : bad;
    case 'time':
      return typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(value) ? [] : bad;
    case 'integer': return Number.isSafeInteger(value) ? [] : bad;
    case 'number': return typeof value === 'number' ? [] : bad;
    case 'boolean': return typeof value === 'boolean' ? [] : bad;
    case 'true': return value === true ? [] : bad;
    case 'null': return bad;
    case 'metadata':
      return value && typeof value === 'object' && !Array.isArray(value) &&
        Object.values(value).every((v) => typeof v === 'string') ? [] : bad;
    case 'object':
      return value && typeof value === 'object' && !Array.isArray(value) ? [] : bad;
    default:
      if (base.includes("'")) {
        const allowed = base.split('|').map((s) => s.trim().slice(1, -1));
        return allowed.includes(value) ? [] : bad;
      }
      return checkShape(shapes, value, base, where);
  }
}

/** Problems of an object against a shape: missing, undeclared or mistyped
 *  fields. */
function checkShape(shapes, value, name, where = name) {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${where}: not an object`];
  const fields = fieldsOf(shapes, name);
  const problems = [];
  for (const [field, t] of Object.entries(fields)) {
    if (field in value) problems.push(...check(shapes, value[field], t, `${where}.${field}`));
    else if (!t.endsWith('=')) problems.push(`${where}.${field}: missing`);
  }
  for (const field of Object.keys(value)) {
    if (!(field in fields)) problems.push(`${where}.${field}: not in the catalog's shape`);
  }
  return problems;
}

module.exports = { shapesOf, resultShape, fieldsOf, tsOf, checkShape };
