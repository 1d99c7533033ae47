// ctx.onnx.model(spec): an ONNX ModelProto (opset 17, plus com.microsoft when a node uses it)
// encoded with onnx-proto, for onnxruntime-node peers. The spec is plain data:
//   inputs/outputs: [{ name, type, shape }]   type: 'float' | 'double' | 'int64' | 'int32' | 'bool' | ...
//                                             shape: numbers, or strings for symbolic dims
//   nodes:          [{ op, inputs, outputs, attrs?, domain?, name? }]
//   initializers:   [{ name, type: 'float' | 'int64' | 'int32', shape, data }] (optional)
// Attribute values: an integer number -> INT, another number -> FLOAT, a string -> STRING,
// an array -> INTS / FLOATS / STRINGS by the same rule; force a type with { type, value }
// ('int' | 'float' | 'string' | 'ints' | 'floats' | 'strings'), e.g. { type: 'float', value: 1 }.
'use strict';
const { onnx } = require('onnx-proto');

const ELEM = {
  float: onnx.TensorProto.DataType.FLOAT, float32: onnx.TensorProto.DataType.FLOAT,
  double: onnx.TensorProto.DataType.DOUBLE, float64: onnx.TensorProto.DataType.DOUBLE,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64, int32: onnx.TensorProto.DataType.INT32,
  int8: onnx.TensorProto.DataType.INT8, uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
};
const A = onnx.AttributeProto.AttributeType;
const MS_DOMAIN = 'com.microsoft';

function elemType(type, where) {
  const t = ELEM[type];
  if (t === undefined) throw new TypeError(`onnx.model: ${where}: unknown element type '${type}' (one of ${Object.keys(ELEM).join(', ')})`);
  return t;
}

function valueInfo(v, where) {
  if (!v || typeof v.name !== 'string') throw new TypeError(`onnx.model: ${where} needs a name`);
  const dims = (v.shape || []).map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: { tensorType: { elemType: elemType(v.type || 'float', `${where} ${v.name}`), shape: { dim: dims } } },
  });
}

function tensorProto(t) {
  const where = `initializer ${t.name}`;
  const type = t.type || 'float';
  const dataType = elemType(type, where);
  const n = (t.shape || []).reduce((a, b) => a * b, 1);
  if (!t.data || t.data.length !== n) throw new RangeError(`onnx.model: ${where}: data has ${t.data ? t.data.length : 0} elements, shape [${t.shape}] needs ${n}`);
  const proto = { name: t.name, dims: t.shape || [], dataType };
  if (type === 'float' || type === 'float32') proto.rawData = new Uint8Array(Float32Array.from(t.data).buffer);
  else if (type === 'double' || type === 'float64') proto.rawData = new Uint8Array(Float64Array.from(t.data).buffer);
  else if (type === 'int64') proto.rawData = new Uint8Array(BigInt64Array.from(Array.from(t.data, (x) => BigInt(x))).buffer);
  else if (type === 'int32') proto.rawData = new Uint8Array(Int32Array.from(t.data).buffer);
  else throw new TypeError(`onnx.model: ${where}: initializers of type '${type}' are not supported`);
  return onnx.TensorProto.create(proto);
}

const isInt = (x) => typeof x === 'number' && Number.isInteger(x);

function attribute(name, value, where) {
  let type = null;
  if (value && typeof value === 'object' && !Array.isArray(value) && 'type' in value) ({ type, value } = value);
  if (type === null) {
    if (typeof value === 'number') type = isInt(value) ? 'int' : 'float';
    else if (typeof value === 'string') type = 'string';
    else if (Array.isArray(value)) type = value.every((x) => typeof x === 'string') ? 'strings' : value.every(isInt) ? 'ints' : 'floats';
    else throw new TypeError(`onnx.model: ${where}: attribute ${name} has an unsupported value ${JSON.stringify(value)}`);
  }
  const enc = (s) => Buffer.from(String(s), 'utf8');
  switch (type) {
    case 'int': return { name, type: A.INT, i: value };
    case 'float': return { name, type: A.FLOAT, f: value };
    case 'string': return { name, type: A.STRING, s: enc(value) };
    case 'ints': return { name, type: A.INTS, ints: value };
    case 'floats': return { name, type: A.FLOATS, floats: value };
    case 'strings': return { name, type: A.STRINGS, strings: value.map(enc) };
    default: throw new TypeError(`onnx.model: ${where}: attribute ${name} has unknown type '${type}'`);
  }
}

/** Encodes the spec as an ONNX model; returns its bytes (Uint8Array). */
function model(spec) {
  if (!spec || !Array.isArray(spec.nodes) || !Array.isArray(spec.inputs) || !Array.isArray(spec.outputs))
    throw new TypeError('onnx.model: the spec needs arrays inputs, outputs and nodes');
  let usesMs = false;
  const nodes = spec.nodes.map((n, k) => {
    const where = `node ${k} (${n.op})`;
    if (typeof n.op !== 'string') throw new TypeError(`onnx.model: node ${k} needs an op`);
    if (n.domain === MS_DOMAIN) usesMs = true;
    return onnx.NodeProto.create({
      name: n.name || `${n.op}_${k}`,
      opType: n.op,
      domain: n.domain || '',
      input: n.inputs || [],
      output: n.outputs || [],
      attribute: Object.entries(n.attrs || {}).map(([name, v]) => attribute(name, v, where)),
    });
  });
  const opsetImport = [{ domain: '', version: 17 }];
  if (usesMs) opsetImport.push({ domain: MS_DOMAIN, version: 1 });
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'echogen-bench',
    opsetImport,
    graph: {
      name: spec.name || 'bench',
      node: nodes,
      input: spec.inputs.map((v, k) => valueInfo(v, `input ${k}`)),
      output: spec.outputs.map((v, k) => valueInfo(v, `output ${k}`)),
      initializer: (spec.initializers || []).map(tensorProto),
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}

module.exports = { model };
