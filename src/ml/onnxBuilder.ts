/**
 * A minimal ONNX (protobuf) writer for small graphs: enough to build tiny conv nets for the GPU self-test and for
 * tests that drive the pipeline with random-weight models of the same inputs and outputs as the real ones.
 * Field numbers follow onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto, AttributeProto).
 */

class ProtoWriter {
  private bytes: number[] = [];
  private varint(value: number): void {
    let v = BigInt(value);
    if (v < 0n) v += 1n << 64n;
    while (v >= 0x80n) {
      this.bytes.push(Number((v & 0x7fn) | 0x80n));
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }
  private key(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  int(field: number, value: number): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }
  float(field: number, value: number): this {
    this.key(field, 5);
    const b = new Uint8Array(new Float32Array([value]).buffer);
    this.bytes.push(...b);
    return this;
  }
  bytesField(field: number, data: Uint8Array): this {
    this.key(field, 2);
    this.varint(data.length);
    for (let i = 0; i < data.length; i++) this.bytes.push(data[i]);
    return this;
  }
  string(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value));
  }
  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytesField(field, inner.finish());
  }
  finish(): Uint8Array {
    return new Uint8Array(this.bytes);
  }
}

export type AttributeValue = number | number[] | string | { floats: number[] };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: Record<string, AttributeValue>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array;
}

export interface OnnxValue {
  name: string;
  /** Numbers for fixed sizes, strings for symbolic dimensions. */
  dims: (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  opset?: number;
}

const FLOAT = 1;

function writeValueInfo(w: ProtoWriter, value: OnnxValue): void {
  w.string(1, value.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, FLOAT);
      tensor.message(2, (shape) => {
        for (const d of value.dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function writeAttribute(w: ProtoWriter, name: string, value: AttributeValue): void {
  w.string(1, name);
  if (typeof value === 'string') w.bytesField(4, new TextEncoder().encode(value)).int(20, 3);
  else if (typeof value === 'number') {
    if (Number.isInteger(value)) w.int(3, value).int(20, 2);
    else w.float(2, value).int(20, 1);
  } else if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    w.int(20, 7);
  } else {
    for (const v of value.floats) w.float(7, v);
    w.int(20, 6);
  }
}

export function buildOnnxModel(graph: OnnxGraph): Uint8Array {
  const model = new ProtoWriter();
  model.int(1, 8); // ir_version
  model.string(2, 'webrecon');
  model.message(7, (g) => {
    for (const node of graph.nodes) {
      g.message(1, (n) => {
        for (const input of node.inputs) n.string(1, input);
        for (const output of node.outputs) n.string(2, output);
        n.string(3, node.name ?? `${node.op}_${node.outputs[0]}`);
        n.string(4, node.op);
        for (const [name, value] of Object.entries(node.attributes ?? {})) n.message(5, (a) => writeAttribute(a, name, value));
      });
    }
    g.string(2, graph.name);
    for (const init of graph.initializers) {
      g.message(5, (t) => {
        for (const d of init.dims) t.int(1, d);
        t.int(2, FLOAT);
        t.string(8, init.name);
        t.bytesField(9, new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength));
      });
    }
    for (const input of graph.inputs) g.message(11, (v) => writeValueInfo(v, input));
    for (const output of graph.outputs) g.message(12, (v) => writeValueInfo(v, output));
  });
  model.message(8, (o) => o.string(1, '').int(2, graph.opset ?? 17));
  return model.finish();
}

/** Deterministic pseudo-random numbers (mulberry32) for reproducible weights. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TinyConvNet {
  bytes: Uint8Array;
  inChannels: number;
  hidden: number;
  outChannels: number;
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

/** conv3x3(pad 1) -> Relu -> conv1x1, NCHW float32, symbolic H and W, weights from `seed`. */
export function buildTinyConvNet(seed: number, inChannels = 3, hidden = 8, outChannels = 4): TinyConvNet {
  const rand = seededRandom(seed);
  const make = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
  const w1 = make(hidden * inChannels * 9, 0.5), b1 = make(hidden, 0.1);
  const w2 = make(outChannels * hidden, 0.5), b2 = make(outChannels, 0.1);
  const bytes = buildOnnxModel({
    name: `tiny_conv_${seed}`,
    nodes: [
      { op: 'Conv', inputs: ['input', 'w1', 'b1'], outputs: ['h'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'Relu', inputs: ['h'], outputs: ['hr'] },
      { op: 'Conv', inputs: ['hr', 'w2', 'b2'], outputs: ['output'], attributes: { kernel_shape: [1, 1] } },
    ],
    initializers: [
      { name: 'w1', dims: [hidden, inChannels, 3, 3], data: w1 },
      { name: 'b1', dims: [hidden], data: b1 },
      { name: 'w2', dims: [outChannels, hidden, 1, 1], data: w2 },
      { name: 'b2', dims: [outChannels], data: b2 },
    ],
    inputs: [{ name: 'input', dims: [1, inChannels, 'H', 'W'] }],
    outputs: [{ name: 'output', dims: [1, outChannels, 'H', 'W'] }],
  });
  return { bytes, inChannels, hidden, outChannels, w1, b1, w2, b2 };
}

/** CPU reference of buildTinyConvNet for a 1xCxHxW input. */
export function runTinyConvNetCpu(net: TinyConvNet, input: Float32Array, height: number, width: number): Float32Array {
  const { inChannels: C, hidden: Hd, outChannels: O } = net;
  const hiddenOut = new Float32Array(Hd * height * width);
  for (let h = 0; h < Hd; h++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = net.b1[h];
        for (let c = 0; c < C; c++) {
          for (let ky = 0; ky < 3; ky++) {
            const yy = y + ky - 1;
            if (yy < 0 || yy >= height) continue;
            for (let kx = 0; kx < 3; kx++) {
              const xx = x + kx - 1;
              if (xx < 0 || xx >= width) continue;
              sum += net.w1[((h * C + c) * 3 + ky) * 3 + kx] * input[(c * height + yy) * width + xx];
            }
          }
        }
        hiddenOut[(h * height + y) * width + x] = Math.max(0, sum);
      }
    }
  }
  const out = new Float32Array(O * height * width);
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < height * width; i++) {
      let sum = net.b2[o];
      for (let h = 0; h < Hd; h++) sum += net.w2[o * Hd + h] * hiddenOut[h * height * width + i];
      out[o * height * width + i] = sum;
    }
  }
  return out;
}
