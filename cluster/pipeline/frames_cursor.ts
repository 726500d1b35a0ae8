/**
 * Little-endian cursors shared by the frame codecs: {@link FrameCursor} reads a payload with every
 * access bounds-checked (an overrun is a FrameError, never a RangeError), {@link FrameWriter} writes
 * into a buffer sized once for the whole frame.
 *
 * @module
 */

import { FrameError } from "./frames.ts";

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** A bounds-checked little-endian cursor over one payload; any overrun is a FrameError. */
export class FrameCursor {
  readonly view: DataView;
  at = 0;
  /** `what` names the frame type in error messages ("FORWARD") */
  constructor(readonly bytes: Uint8Array, readonly what: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, field: string): void {
    if (this.at + n > this.bytes.length) {
      throw new FrameError(
        "truncated",
        `${this.what}: ${field} needs ${n} bytes at offset ${this.at}, payload has ${this.bytes.length}`,
      );
    }
  }
  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.at++);
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  i32(field: string): number {
    this.need(4, field);
    const v = this.view.getInt32(this.at, true);
    this.at += 4;
    return v;
  }
  f64(field: string): number {
    this.need(8, field);
    const v = this.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }
  u64(field: string): number {
    const lo = this.u32(field);
    const hi = this.u32(field);
    if (hi > 0x1f_ffff) throw new FrameError("bad-field", `${this.what}: ${field} exceeds 2^53 − 1`);
    return hi * 0x1_0000_0000 + lo;
  }
  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  text(n: number, field: string): string {
    try {
      return utf8Strict.decode(this.take(n, field));
    } catch (e) {
      if (e instanceof FrameError) throw e;
      throw new FrameError("bad-field", `${this.what}: ${field} is not valid UTF-8`);
    }
  }
}

/** A cursor that writes little-endian fields into a preallocated buffer. */
export class FrameWriter {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  at = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number): void {
    this.view.setUint8(this.at, v);
    this.at += 1;
  }
  u16(v: number): void {
    this.view.setUint16(this.at, v, true);
    this.at += 2;
  }
  u32(v: number): void {
    this.view.setUint32(this.at, v, true);
    this.at += 4;
  }
  i32(v: number): void {
    this.view.setInt32(this.at, v, true);
    this.at += 4;
  }
  f64(v: number): void {
    this.view.setFloat64(this.at, v, true);
    this.at += 8;
  }
  u64(v: number): void {
    this.u32(v % 0x1_0000_0000);
    this.u32(Math.floor(v / 0x1_0000_0000));
  }
  raw(b: Uint8Array): void {
    this.bytes.set(b, this.at);
    this.at += b.length;
  }
}
