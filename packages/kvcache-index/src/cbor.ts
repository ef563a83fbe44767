/**
 * A minimal canonical CBOR (RFC 8949 §4.2.1 "core deterministic") encoder for the small values block
 * hashing needs: unsigned/negative integers (number or bigint), text strings, byte strings, arrays,
 * null and string-keyed maps. Heads use the shortest form, as fxamacker/cbor's CanonicalEncOptions and
 * Python's `cbor2.dumps(canonical=True)` do, so hashes match llm-d and vLLM byte for byte.
 */
export type CborValue =
  | number
  | bigint
  | string
  | Uint8Array
  | null
  | readonly CborValue[]
  | { readonly [key: string]: CborValue };

const textEncoder = new TextEncoder();

/** A reusable, growable output buffer (hashing encodes millions of tiny arrays). */
export class CborWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(initialSize = 256) {
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
  }

  reset(): this {
    this.length = 0;
    return this;
  }

  /** The encoded bytes (a view into the internal buffer, valid until the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Writes a major type with an unsigned argument < 2^53 in the shortest form. */
  head(major: number, value: number): void {
    this.ensure(9);
    const m = major << 5;
    const b = this.buf;
    if (value < 24) b[this.length++] = m | value;
    else if (value < 0x100) {
      b[this.length++] = m | 24;
      b[this.length++] = value;
    } else if (value < 0x10000) {
      b[this.length++] = m | 25;
      this.view.setUint16(this.length, value);
      this.length += 2;
    } else if (value < 0x1_0000_0000) {
      b[this.length++] = m | 26;
      this.view.setUint32(this.length, value);
      this.length += 4;
    } else {
      b[this.length++] = m | 27;
      this.view.setUint32(this.length, Math.floor(value / 0x1_0000_0000));
      this.view.setUint32(this.length + 4, value >>> 0);
      this.length += 8;
    }
  }

  headBig(major: number, value: bigint): void {
    if (value <= 0x1f_ffff_ffff_ffffn) {
      this.head(major, Number(value));
      return;
    }
    this.ensure(9);
    this.buf[this.length++] = (major << 5) | 27;
    this.view.setBigUint64(this.length, value);
    this.length += 8;
  }

  uint(value: number): void {
    this.head(0, value);
  }

  integer(value: number | bigint): void {
    if (typeof value === 'bigint') {
      if (value >= 0n) {
        if (value > 0xffff_ffff_ffff_ffffn) throw new RangeError(`CBOR integer ${value} exceeds 64 bits`);
        this.headBig(0, value);
      } else {
        if (value < -0x1_0000_0000_0000_0000n) throw new RangeError(`CBOR integer ${value} exceeds 64 bits`);
        this.headBig(1, -1n - value);
      }
      return;
    }
    if (!Number.isInteger(value)) throw new RangeError(`CBOR encoder only supports integers, got ${value}`);
    if (value >= 0) {
      if (value > Number.MAX_SAFE_INTEGER) this.headBig(0, BigInt(value));
      else this.head(0, value);
    } else if (value >= -Number.MAX_SAFE_INTEGER) this.head(1, -1 - value);
    else this.headBig(1, -1n - BigInt(value));
  }

  text(value: string): void {
    const encoded = textEncoder.encode(value);
    this.head(3, encoded.length);
    this.raw(encoded);
  }

  byteString(value: Uint8Array): void {
    this.head(2, value.length);
    this.raw(value);
  }

  raw(value: Uint8Array): void {
    this.ensure(value.length);
    this.buf.set(value, this.length);
    this.length += value.length;
  }

  arrayHead(length: number): void {
    this.head(4, length);
  }

  nil(): void {
    this.ensure(1);
    this.buf[this.length++] = 0xf6;
  }

  /** An array of unsigned integers (token ids) without intermediate allocations. */
  uintArray(values: ArrayLike<number>, start = 0, end = values.length): void {
    this.head(4, end - start);
    for (let i = start; i < end; i++) this.head(0, values[i]!);
  }

  value(value: CborValue): void {
    if (value === null) this.nil();
    else if (typeof value === 'number' || typeof value === 'bigint') this.integer(value);
    else if (typeof value === 'string') this.text(value);
    else if (value instanceof Uint8Array) this.byteString(value);
    else if (Array.isArray(value)) {
      this.arrayHead(value.length);
      for (const item of value as readonly CborValue[]) this.value(item);
    } else this.map(value as { readonly [key: string]: CborValue });
  }

  private map(value: { readonly [key: string]: CborValue }): void {
    // Canonical map: keys sorted by their encoded bytes (length first, then bytewise).
    const entries = Object.entries(value).map(([k, v]) => [textEncoder.encode(k), v] as const);
    entries.sort(([a], [b]) => {
      if (a.length !== b.length) return a.length - b.length;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
      return 0;
    });
    this.head(5, entries.length);
    for (const [k, v] of entries) {
      this.head(3, k.length);
      this.raw(k);
      this.value(v);
    }
  }
}

/** Encodes one value as canonical CBOR. */
export function encodeCanonicalCbor(value: CborValue): Uint8Array {
  const w = new CborWriter();
  w.value(value);
  return w.bytes().slice();
}
