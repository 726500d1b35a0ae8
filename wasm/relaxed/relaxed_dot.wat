;; Relaxed-SIMD integer loops of edgering's quantised matrix products, and the F32 product tiles (at the
;; end, with their own header: f32x4.relaxed_madd, whose fused rounding may differ from the crate's
;; simd128 mul-then-add in the last bits).
;;
;; Same contract as wasm/src/int_dot.rs (read that file's header first): Q4_0 and Q8_0 row dots fused
;; with their float scaling (returning f32; Q4_0 quants taken as unsigned 0..15, the caller adds the −8
;; offset's term), Q4_K and Q6_K partials (i32x4 per sub-block), for one token
;; or for a tile of four tokens sharing each unpacked weight block. The Rust crate imports these as
;; module "relaxed"; its simd128 twins compute the same exact integers in the same i32 lanes and the same
;; float operations in the same order, so both paths give bit-identical results.
;;
;; i16x8.relaxed_dot_i8x16_i7x16_s(a, b) sums adjacent byte products a·b into i16 lanes. On x86 V8 emits
;; pmaddubsw, which reads b as *unsigned*; keeping every b byte in 0..=127 makes the result the same exact
;; integer on every CPU, and |a·b + a·b| ≤ 2·128·127 never saturates. Then i32x4.extadd_pairwise_i16x8_s
;; gives the lane convention: lane j = Σ of the products of bytes 4j..4j+4.
;; - Q4_0, Q4_K (nibbles 0..15) and Q6_K (0..63): b = weight quants, a = int8 activations; two i16 dots
;;   may be added before widening (|sum| ≤ 4·15·127 or 2·2·63·127).
;; - Q8_0 (signed quants): b = |x| (activations are quantised to −127..=127), a = w·sign(x).
;;
;; wabt 1.0.32 spells the instruction `i16x8.dot_i8x16_i7x16_s` (same opcode, 0xfd 0x112).
;; Activations are 32 int8 values per (token, block); four-token functions take a tile interleaved block
;; by block (token i at +32·i, next block at +128).
;; Arguments are byte offsets into the shared memory.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; (l0 + l2) + (l1 + l3): the fixed horizontal-sum order of wasm/src/simd.rs hsum_f32.
  (func $hsum (param $v v128) (result f32)
    (local $s v128)
    (local.set $s (f32x4.add (local.get $v)
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
    (f32.add (f32x4.extract_lane 0 (local.get $s)) (f32x4.extract_lane 1 (local.get $s))))

  ;; out[0..4] = hsum of each accumulator.
  (func $store4 (param $out i32) (param $a0 v128) (param $a1 v128) (param $a2 v128) (param $a3 v128)
    (f32.store (local.get $out) (call $hsum (local.get $a0)))
    (f32.store offset=4 (local.get $out) (call $hsum (local.get $a1)))
    (f32.store offset=8 (local.get $out) (call $hsum (local.get $a2)))
    (f32.store offset=12 (local.get $out) (call $hsum (local.get $a3))))

  ;; ---------------------------------------------------------------- Q4_0 and Q8_0 (fused)
  ;; Rows come as groups of [four f16 weight scales][four blocks' quants] (scales 0 past the row's end).
  ;; Per group: the scales are widened to f32 exactly (sign and exponent/mantissa bits moved into place,
  ;; then × 2^112 to rebias the exponent; f16 subnormals come out right too), s = scales · d_x, and for
  ;; Q4_0 o += scales · off; per block k: acc += f32(lanes) · s[k]. Result hsum(acc) + hsum(o). Q4_0
  ;; blocks: 16 B of nibbles (low = value j, high = value j+16, unsigned 0..15), groups of 72 B; Q8_0
  ;; blocks: 32 B int8, groups of 136 B: the GGUF bytes, reordered.
  (func (export "q4_0_1") (param $w i32) (param $x i32) (param $dx i32) (param $off i32) (param $nb i32)
    (result f32)
    (local $left i32) (local $fm v128) (local $f112 v128) (local $q v128) (local $m v128) (local $sc v128) (local $s v128) (local $acc v128) (local $o v128)
    (local.set $m (i8x16.splat (i32.const 0x0f)))
    (local.set $fm (i32x4.splat (i32.const 0x8fffe000)))
    (local.set $f112 (f32x4.splat (f32.const 0x1p+112)))
    (local.set $left (local.get $nb))
    (if (i32.gt_s (local.get $left) (i32.const 0)) (then
      (loop $group
        (local.set $sc (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_low_i16x8_s (v128.load64_zero (local.get $w))) (i32.const 13)) (local.get $fm)) (local.get $f112)))
        (local.set $s (f32x4.mul (local.get $sc) (v128.load (local.get $dx))))
        (local.set $o (f32x4.add (local.get $o) (f32x4.mul (local.get $sc) (v128.load (local.get $off)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=0 (local.get $x)) (v128.and (local.tee $q (v128.load offset=8 (local.get $w))) (local.get $m)))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=16 (local.get $x))
                (v128.and (i16x8.shr_u (local.get $q) (i32.const 4)) (local.get $m))))))
            (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $s) (local.get $s)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=32 (local.get $x)) (v128.and (local.tee $q (v128.load offset=24 (local.get $w))) (local.get $m)))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=48 (local.get $x))
                (v128.and (i16x8.shr_u (local.get $q) (i32.const 4)) (local.get $m))))))
            (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $s) (local.get $s)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=64 (local.get $x)) (v128.and (local.tee $q (v128.load offset=40 (local.get $w))) (local.get $m)))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=80 (local.get $x))
                (v128.and (i16x8.shr_u (local.get $q) (i32.const 4)) (local.get $m))))))
            (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $s) (local.get $s)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=96 (local.get $x)) (v128.and (local.tee $q (v128.load offset=56 (local.get $w))) (local.get $m)))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=112 (local.get $x))
                (v128.and (i16x8.shr_u (local.get $q) (i32.const 4)) (local.get $m))))))
            (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $s) (local.get $s)))))
        (local.set $w (i32.add (local.get $w) (i32.const 72)))
        (local.set $x (i32.add (local.get $x) (i32.const 128)))
        (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br_if $group (i32.gt_s (local.tee $left (i32.sub (local.get $left) (i32.const 4))) (i32.const 0))))))
    (f32.add (call $hsum (local.get $acc)) (call $hsum (local.get $o))))

  ;; Four tokens: tile values (block b, token i at +128·b + 32·i), tile scales dt and offsets ot (per
  ;; group, token i's four at +16·i); writes the four dots to out[0..4].
  (func (export "q4_0_4") (param $w i32) (param $x i32) (param $dt i32) (param $ot i32) (param $nb i32)
    (param $out i32)
    (local $left i32) (local $fm v128) (local $f112 v128) (local $q v128) (local $m v128) (local $sc v128) (local $lo v128) (local $hi v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $o0 v128) (local $o1 v128) (local $o2 v128) (local $o3 v128)
    (local.set $m (i8x16.splat (i32.const 0x0f)))
    (local.set $fm (i32x4.splat (i32.const 0x8fffe000)))
    (local.set $f112 (f32x4.splat (f32.const 0x1p+112)))
    (local.set $left (local.get $nb))
    (if (i32.gt_s (local.get $left) (i32.const 0)) (then
      (loop $group
        (local.set $sc (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_low_i16x8_s (v128.load64_zero (local.get $w))) (i32.const 13)) (local.get $fm)) (local.get $f112)))
        (local.set $s0 (f32x4.mul (local.get $sc) (v128.load offset=0 (local.get $dt))))
        (local.set $o0 (f32x4.add (local.get $o0) (f32x4.mul (local.get $sc) (v128.load offset=0 (local.get $ot)))))
        (local.set $s1 (f32x4.mul (local.get $sc) (v128.load offset=16 (local.get $dt))))
        (local.set $o1 (f32x4.add (local.get $o1) (f32x4.mul (local.get $sc) (v128.load offset=16 (local.get $ot)))))
        (local.set $s2 (f32x4.mul (local.get $sc) (v128.load offset=32 (local.get $dt))))
        (local.set $o2 (f32x4.add (local.get $o2) (f32x4.mul (local.get $sc) (v128.load offset=32 (local.get $ot)))))
        (local.set $s3 (f32x4.mul (local.get $sc) (v128.load offset=48 (local.get $dt))))
        (local.set $o3 (f32x4.add (local.get $o3) (f32x4.mul (local.get $sc) (v128.load offset=48 (local.get $ot)))))
        ;; block 0
        (local.set $q (v128.load offset=8 (local.get $w)))
        (local.set $lo (v128.and (local.get $q) (local.get $m)))
        (local.set $hi (v128.and (i16x8.shr_u (local.get $q) (i32.const 4)) (local.get $m)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=0 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=16 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $s0) (local.get $s0)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=32 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=48 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $s1) (local.get $s1)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=64 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=80 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $s2) (local.get $s2)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=96 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=112 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $s3) (local.get $s3)))))
        ;; block 1
        (local.set $q (v128.load offset=24 (local.get $w)))
        (local.set $lo (v128.and (local.get $q) (local.get $m)))
        (local.set $hi (v128.and (i16x8.shr_u (local.get $q) (i32.const 4)) (local.get $m)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=128 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=144 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $s0) (local.get $s0)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=160 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=176 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $s1) (local.get $s1)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=192 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=208 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $s2) (local.get $s2)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=224 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=240 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $s3) (local.get $s3)))))
        ;; block 2
        (local.set $q (v128.load offset=40 (local.get $w)))
        (local.set $lo (v128.and (local.get $q) (local.get $m)))
        (local.set $hi (v128.and (i16x8.shr_u (local.get $q) (i32.const 4)) (local.get $m)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=256 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=272 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $s0) (local.get $s0)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=288 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=304 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $s1) (local.get $s1)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=320 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=336 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $s2) (local.get $s2)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=352 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=368 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $s3) (local.get $s3)))))
        ;; block 3
        (local.set $q (v128.load offset=56 (local.get $w)))
        (local.set $lo (v128.and (local.get $q) (local.get $m)))
        (local.set $hi (v128.and (i16x8.shr_u (local.get $q) (i32.const 4)) (local.get $m)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=384 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=400 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $s0) (local.get $s0)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=416 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=432 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $s1) (local.get $s1)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=448 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=464 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $s2) (local.get $s2)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=480 (local.get $x)) (local.get $lo))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=496 (local.get $x)) (local.get $hi)))))
            (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $s3) (local.get $s3)))))
        (local.set $w (i32.add (local.get $w) (i32.const 72)))
        (local.set $x (i32.add (local.get $x) (i32.const 512)))
        (local.set $dt (i32.add (local.get $dt) (i32.const 64)))
        (local.set $ot (i32.add (local.get $ot) (i32.const 64)))
        (br_if $group (i32.gt_s (local.tee $left (i32.sub (local.get $left) (i32.const 4))) (i32.const 0))))))
    (f32.store (local.get $out) (f32.add (call $hsum (local.get $a0)) (call $hsum (local.get $o0))))
    (f32.store offset=4 (local.get $out) (f32.add (call $hsum (local.get $a1)) (call $hsum (local.get $o1))))
    (f32.store offset=8 (local.get $out) (f32.add (call $hsum (local.get $a2)) (call $hsum (local.get $o2))))
    (f32.store offset=12 (local.get $out) (f32.add (call $hsum (local.get $a3)) (call $hsum (local.get $o3)))))

  ;; Q8_0 w: [nb][32] int8. Per 16 bytes: dot(w·sign(x), |x|) — |x| ≤ 127 is the 7-bit operand; the
  ;; host never sends a weight holding −128 (whose negation does not fit a byte).
  (func (export "q8_0_1") (param $w i32) (param $x i32) (param $dx i32) (param $nb i32) (result f32)
    (local $left i32) (local $fm v128) (local $f112 v128) (local $xv v128) (local $n v128) (local $z v128) (local $sc v128) (local $s v128) (local $acc v128)
    (local.set $fm (i32x4.splat (i32.const 0x8fffe000)))
    (local.set $f112 (f32x4.splat (f32.const 0x1p+112)))
    (local.set $left (local.get $nb))
    (if (i32.gt_s (local.get $left) (i32.const 0)) (then
      (loop $group
        (local.set $sc (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_low_i16x8_s (v128.load64_zero (local.get $w))) (i32.const 13)) (local.get $fm)) (local.get $f112)))
        (local.set $s (f32x4.mul (local.get $sc) (v128.load (local.get $dx))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (v128.load offset=8 (local.get $w)) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=0 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (v128.load offset=24 (local.get $w)) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=16 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $s) (local.get $s)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (v128.load offset=40 (local.get $w)) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=32 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (v128.load offset=56 (local.get $w)) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=48 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $s) (local.get $s)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (v128.load offset=72 (local.get $w)) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=64 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (v128.load offset=88 (local.get $w)) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=80 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $s) (local.get $s)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (v128.load offset=104 (local.get $w)) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=96 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (v128.load offset=120 (local.get $w)) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=112 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $s) (local.get $s)))))
        (local.set $w (i32.add (local.get $w) (i32.const 136)))
        (local.set $x (i32.add (local.get $x) (i32.const 128)))
        (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
        (br_if $group (i32.gt_s (local.tee $left (i32.sub (local.get $left) (i32.const 4))) (i32.const 0))))))
    (call $hsum (local.get $acc)))

  ;; Four tokens, as q4_0_4 (no offsets).
  (func (export "q8_0_4") (param $w i32) (param $x i32) (param $dt i32) (param $nb i32) (param $out i32)
    (local $left i32) (local $fm v128) (local $f112 v128) (local $xv v128) (local $n v128) (local $z v128) (local $sc v128) (local $w0 v128) (local $w1 v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $fm (i32x4.splat (i32.const 0x8fffe000)))
    (local.set $f112 (f32x4.splat (f32.const 0x1p+112)))
    (local.set $left (local.get $nb))
    (if (i32.gt_s (local.get $left) (i32.const 0)) (then
      (loop $group
        (local.set $sc (f32x4.mul (v128.and (i32x4.shl (i32x4.extend_low_i16x8_s (v128.load64_zero (local.get $w))) (i32.const 13)) (local.get $fm)) (local.get $f112)))
        (local.set $s0 (f32x4.mul (local.get $sc) (v128.load offset=0 (local.get $dt))))
        (local.set $s1 (f32x4.mul (local.get $sc) (v128.load offset=16 (local.get $dt))))
        (local.set $s2 (f32x4.mul (local.get $sc) (v128.load offset=32 (local.get $dt))))
        (local.set $s3 (f32x4.mul (local.get $sc) (v128.load offset=48 (local.get $dt))))
        ;; block 0
        (local.set $w0 (v128.load offset=8 (local.get $w)))
        (local.set $w1 (v128.load offset=24 (local.get $w)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=0 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=16 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $s0) (local.get $s0)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=32 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=48 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $s1) (local.get $s1)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=64 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=80 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $s2) (local.get $s2)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=96 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=112 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $s3) (local.get $s3)))))
        ;; block 1
        (local.set $w0 (v128.load offset=40 (local.get $w)))
        (local.set $w1 (v128.load offset=56 (local.get $w)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=128 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=144 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $s0) (local.get $s0)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=160 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=176 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $s1) (local.get $s1)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=192 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=208 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $s2) (local.get $s2)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=224 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=240 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $s3) (local.get $s3)))))
        ;; block 2
        (local.set $w0 (v128.load offset=72 (local.get $w)))
        (local.set $w1 (v128.load offset=88 (local.get $w)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=256 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=272 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $s0) (local.get $s0)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=288 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=304 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $s1) (local.get $s1)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=320 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=336 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $s2) (local.get $s2)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=352 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=368 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $s3) (local.get $s3)))))
        ;; block 3
        (local.set $w0 (v128.load offset=104 (local.get $w)))
        (local.set $w1 (v128.load offset=120 (local.get $w)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=384 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=400 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $s0) (local.get $s0)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=416 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=432 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $s1) (local.get $s1)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=448 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=464 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $s2) (local.get $s2)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.add
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w0) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=480 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))
              (i32x4.extadd_pairwise_i16x8_s
                (i16x8.dot_i8x16_i7x16_s
                (i8x16.sub (v128.xor (local.get $w1) (local.tee $n (i8x16.lt_s (local.tee $xv (v128.load offset=496 (local.get $x))) (local.get $z)))) (local.get $n))
                (i8x16.abs (local.get $xv))))))
            (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $s3) (local.get $s3)))))
        (local.set $w (i32.add (local.get $w) (i32.const 136)))
        (local.set $x (i32.add (local.get $x) (i32.const 512)))
        (local.set $dt (i32.add (local.get $dt) (i32.const 64)))
        (br_if $group (i32.gt_s (local.tee $left (i32.sub (local.get $left) (i32.const 4))) (i32.const 0))))))
    (f32.store (local.get $out) (call $hsum (local.get $a0)))
    (f32.store offset=4 (local.get $out) (call $hsum (local.get $a1)))
    (f32.store offset=8 (local.get $out) (call $hsum (local.get $a2)))
    (f32.store offset=12 (local.get $out) (call $hsum (local.get $a3))))

  ;; ---------------------------------------------------------------- Q4_K and Q6_K (fused)
  ;; Per sub-block (32 values for Q4_K, 16 for Q6_K): acc += f32(lanes) · s, with s the combined scale
  ;; d·sc·d_x from the Rust pre-pass (wasm/src/kquant_scales.rs, which also sums the mins / −32 terms).
  ;; One token: s [super-block][8 or 16]; four tokens: s [super-block][token][8 or 16], values of block
  ;; b, token i at +128·b + 32·i.
  ;; Q4_K w: GGUF super-blocks of 144 B, nibbles at +16: per 64 values (c = 0..3) 32 bytes whose low
  ;; nibbles are sub-block 2c and high nibbles sub-block 2c+1. Order: super-blocks, c, low then high.
  (func (export "q4_k_1") (param $w i32) (param $x i32) (param $s i32) (param $nsb i32) (result f32)
    (local $q i32) (local $qend i32) (local $w0 v128) (local $w1 v128) (local $m v128) (local $acc v128)
    (if (i32.eqz (local.get $nsb)) (then (return (f32.const 0))))
    (local.set $m (i8x16.splat (i32.const 0x0f)))
    (loop $super
      (local.set $q (i32.add (local.get $w) (i32.const 16)))
      (local.set $qend (i32.add (local.get $w) (i32.const 144)))
      (loop $chunk
        (local.set $w0 (v128.load (local.get $q)))
        (local.set $w1 (v128.load offset=16 (local.get $q)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=0 (local.get $x)) (v128.and (local.get $w0) (local.get $m)))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=16 (local.get $x)) (v128.and (local.get $w1) (local.get $m))))))
            (v128.load32_splat (local.get $s)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=32 (local.get $x)) (v128.and (i16x8.shr_u (local.get $w0) (i32.const 4)) (local.get $m)))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=48 (local.get $x)) (v128.and (i16x8.shr_u (local.get $w1) (i32.const 4)) (local.get $m))))))
            (v128.load32_splat offset=4 (local.get $s)))))
        (local.set $q (i32.add (local.get $q) (i32.const 32)))
        (local.set $x (i32.add (local.get $x) (i32.const 64)))
        (local.set $s (i32.add (local.get $s) (i32.const 8)))
        (br_if $chunk (i32.lt_u (local.get $q) (local.get $qend))))
      (local.set $w (local.get $qend))
      (br_if $super (local.tee $nsb (i32.sub (local.get $nsb) (i32.const 1)))))
    (call $hsum (local.get $acc)))

  (func (export "q4_k_4") (param $w i32) (param $x i32) (param $s i32) (param $nsb i32) (param $out i32)
    (local $q i32) (local $qend i32) (local $m v128)
    (local $lo0 v128) (local $lo1 v128) (local $hi0 v128) (local $hi1 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $m (i8x16.splat (i32.const 0x0f)))
    (if (local.get $nsb) (then
      (loop $super
        (local.set $q (i32.add (local.get $w) (i32.const 16)))
        (local.set $qend (i32.add (local.get $w) (i32.const 144)))
        (loop $chunk
          (local.set $lo0 (v128.and (v128.load (local.get $q)) (local.get $m)))
          (local.set $lo1 (v128.and (v128.load offset=16 (local.get $q)) (local.get $m)))
          (local.set $hi0 (v128.and (i16x8.shr_u (v128.load (local.get $q)) (i32.const 4)) (local.get $m)))
          (local.set $hi1 (v128.and (i16x8.shr_u (v128.load offset=16 (local.get $q)) (i32.const 4)) (local.get $m)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=0 (local.get $x)) (local.get $lo0))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=16 (local.get $x)) (local.get $lo1)))))
            (v128.load32_splat offset=0 (local.get $s)))))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=128 (local.get $x)) (local.get $hi0))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=144 (local.get $x)) (local.get $hi1)))))
            (v128.load32_splat offset=4 (local.get $s)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=32 (local.get $x)) (local.get $lo0))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=48 (local.get $x)) (local.get $lo1)))))
            (v128.load32_splat offset=32 (local.get $s)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=160 (local.get $x)) (local.get $hi0))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=176 (local.get $x)) (local.get $hi1)))))
            (v128.load32_splat offset=36 (local.get $s)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=64 (local.get $x)) (local.get $lo0))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=80 (local.get $x)) (local.get $lo1)))))
            (v128.load32_splat offset=64 (local.get $s)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=192 (local.get $x)) (local.get $hi0))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=208 (local.get $x)) (local.get $hi1)))))
            (v128.load32_splat offset=68 (local.get $s)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=96 (local.get $x)) (local.get $lo0))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=112 (local.get $x)) (local.get $lo1)))))
            (v128.load32_splat offset=96 (local.get $s)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s (i16x8.add
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=224 (local.get $x)) (local.get $hi0))
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=240 (local.get $x)) (local.get $hi1)))))
            (v128.load32_splat offset=100 (local.get $s)))))
          (local.set $q (i32.add (local.get $q) (i32.const 32)))
          (local.set $x (i32.add (local.get $x) (i32.const 256)))
          (local.set $s (i32.add (local.get $s) (i32.const 8)))
          (br_if $chunk (i32.lt_u (local.get $q) (local.get $qend))))
        ;; the chunks moved s by 32 bytes; the next super-block's scales start 128 bytes on
        (local.set $s (i32.add (local.get $s) (i32.const 96)))
        (local.set $w (local.get $qend))
        (br_if $super (local.tee $nsb (i32.sub (local.get $nsb) (i32.const 1)))))))
    (call $store4 (local.get $out) (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3)))

  ;; Q6_K w: GGUF super-blocks of 210 B: ql[128] at +0, qh[64] at +128. Per half h (128 values, activation
  ;; blocks 4h..4h+4) and l in {0, 16}: a = ql[64h+l..], b = ql[64h+32+l..], hb = qh[32h+l..] (16 bytes
  ;; each) give four 16-value sub-blocks at values 128h + l + 32k, sub-block index 8h + l/16 + 2k:
  ;;   q1 = (a & 15) | (hb << 4 & 48)   q2 = (b & 15) | (hb << 2 & 48)
  ;;   q3 = (a >> 4 & 15) | (hb & 48)   q4 = (b >> 4 & 15) | (hb >> 2 & 48)
  ;; (q in 0..63; the −32 offset is in the pre-pass). Order: super-blocks, h, l, k.
  (func (export "q6_k_1") (param $w i32) (param $x i32) (param $s i32) (param $nsb i32) (result f32)
    (local $ql i32) (local $qh i32) (local $h i32) (local $m4 v128) (local $m2 v128) (local $acc v128)
    (local $ta v128) (local $tb v128) (local $th v128)
    (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $q4 v128)
    (if (i32.eqz (local.get $nsb)) (then (return (f32.const 0))))
    (local.set $m4 (i8x16.splat (i32.const 0x0f)))
    (local.set $m2 (i8x16.splat (i32.const 0x30)))
    (loop $super
      (local.set $ql (local.get $w))
      (local.set $qh (i32.add (local.get $w) (i32.const 128)))
      (local.set $h (i32.const 2))
      (loop $half
          (local.set $ta (v128.load offset=0 (local.get $ql)))
          (local.set $tb (v128.load offset=32 (local.get $ql)))
          (local.set $th (v128.load offset=0 (local.get $qh)))
          (local.set $q1 (v128.or (v128.and (local.get $ta) (local.get $m4))
                                  (v128.and (i16x8.shl (local.get $th) (i32.const 4)) (local.get $m2))))
          (local.set $q2 (v128.or (v128.and (local.get $tb) (local.get $m4))
                                  (v128.and (i16x8.shl (local.get $th) (i32.const 2)) (local.get $m2))))
          (local.set $q3 (v128.or (v128.and (i16x8.shr_u (local.get $ta) (i32.const 4)) (local.get $m4))
                                  (v128.and (local.get $th) (local.get $m2))))
          (local.set $q4 (v128.or (v128.and (i16x8.shr_u (local.get $tb) (i32.const 4)) (local.get $m4))
                                  (v128.and (i16x8.shr_u (local.get $th) (i32.const 2)) (local.get $m2))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=0 (local.get $x)) (local.get $q1))))
            (v128.load32_splat offset=0 (local.get $s)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=32 (local.get $x)) (local.get $q2))))
            (v128.load32_splat offset=8 (local.get $s)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=64 (local.get $x)) (local.get $q3))))
            (v128.load32_splat offset=16 (local.get $s)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=96 (local.get $x)) (local.get $q4))))
            (v128.load32_splat offset=24 (local.get $s)))))
          (local.set $ta (v128.load offset=16 (local.get $ql)))
          (local.set $tb (v128.load offset=48 (local.get $ql)))
          (local.set $th (v128.load offset=16 (local.get $qh)))
          (local.set $q1 (v128.or (v128.and (local.get $ta) (local.get $m4))
                                  (v128.and (i16x8.shl (local.get $th) (i32.const 4)) (local.get $m2))))
          (local.set $q2 (v128.or (v128.and (local.get $tb) (local.get $m4))
                                  (v128.and (i16x8.shl (local.get $th) (i32.const 2)) (local.get $m2))))
          (local.set $q3 (v128.or (v128.and (i16x8.shr_u (local.get $ta) (i32.const 4)) (local.get $m4))
                                  (v128.and (local.get $th) (local.get $m2))))
          (local.set $q4 (v128.or (v128.and (i16x8.shr_u (local.get $tb) (i32.const 4)) (local.get $m4))
                                  (v128.and (i16x8.shr_u (local.get $th) (i32.const 2)) (local.get $m2))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=16 (local.get $x)) (local.get $q1))))
            (v128.load32_splat offset=4 (local.get $s)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=48 (local.get $x)) (local.get $q2))))
            (v128.load32_splat offset=12 (local.get $s)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=80 (local.get $x)) (local.get $q3))))
            (v128.load32_splat offset=20 (local.get $s)))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=112 (local.get $x)) (local.get $q4))))
            (v128.load32_splat offset=28 (local.get $s)))))
        (local.set $ql (i32.add (local.get $ql) (i32.const 64)))
        (local.set $qh (i32.add (local.get $qh) (i32.const 32)))
        (local.set $x (i32.add (local.get $x) (i32.const 128)))
        (local.set $s (i32.add (local.get $s) (i32.const 32)))
        (br_if $half (local.tee $h (i32.sub (local.get $h) (i32.const 1)))))
      (local.set $w (i32.add (local.get $w) (i32.const 210)))
      (br_if $super (local.tee $nsb (i32.sub (local.get $nsb) (i32.const 1)))))
    (call $hsum (local.get $acc)))

  (func (export "q6_k_4") (param $w i32) (param $x i32) (param $s i32) (param $nsb i32) (param $out i32)
    (local $ql i32) (local $qh i32) (local $h i32) (local $m4 v128) (local $m2 v128)
    (local $ta v128) (local $tb v128) (local $th v128)
    (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $q4 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $m4 (i8x16.splat (i32.const 0x0f)))
    (local.set $m2 (i8x16.splat (i32.const 0x30)))
    (if (local.get $nsb) (then
      (loop $super
        (local.set $ql (local.get $w))
        (local.set $qh (i32.add (local.get $w) (i32.const 128)))
        (local.set $h (i32.const 2))
        (loop $half
          (local.set $ta (v128.load offset=0 (local.get $ql)))
          (local.set $tb (v128.load offset=32 (local.get $ql)))
          (local.set $th (v128.load offset=0 (local.get $qh)))
          (local.set $q1 (v128.or (v128.and (local.get $ta) (local.get $m4))
                                  (v128.and (i16x8.shl (local.get $th) (i32.const 4)) (local.get $m2))))
          (local.set $q2 (v128.or (v128.and (local.get $tb) (local.get $m4))
                                  (v128.and (i16x8.shl (local.get $th) (i32.const 2)) (local.get $m2))))
          (local.set $q3 (v128.or (v128.and (i16x8.shr_u (local.get $ta) (i32.const 4)) (local.get $m4))
                                  (v128.and (local.get $th) (local.get $m2))))
          (local.set $q4 (v128.or (v128.and (i16x8.shr_u (local.get $tb) (i32.const 4)) (local.get $m4))
                                  (v128.and (i16x8.shr_u (local.get $th) (i32.const 2)) (local.get $m2))))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=0 (local.get $x)) (local.get $q1))))
            (v128.load32_splat offset=0 (local.get $s)))))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=128 (local.get $x)) (local.get $q2))))
            (v128.load32_splat offset=8 (local.get $s)))))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=256 (local.get $x)) (local.get $q3))))
            (v128.load32_splat offset=16 (local.get $s)))))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=384 (local.get $x)) (local.get $q4))))
            (v128.load32_splat offset=24 (local.get $s)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=32 (local.get $x)) (local.get $q1))))
            (v128.load32_splat offset=64 (local.get $s)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=160 (local.get $x)) (local.get $q2))))
            (v128.load32_splat offset=72 (local.get $s)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=288 (local.get $x)) (local.get $q3))))
            (v128.load32_splat offset=80 (local.get $s)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=416 (local.get $x)) (local.get $q4))))
            (v128.load32_splat offset=88 (local.get $s)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=64 (local.get $x)) (local.get $q1))))
            (v128.load32_splat offset=128 (local.get $s)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=192 (local.get $x)) (local.get $q2))))
            (v128.load32_splat offset=136 (local.get $s)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=320 (local.get $x)) (local.get $q3))))
            (v128.load32_splat offset=144 (local.get $s)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=448 (local.get $x)) (local.get $q4))))
            (v128.load32_splat offset=152 (local.get $s)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=96 (local.get $x)) (local.get $q1))))
            (v128.load32_splat offset=192 (local.get $s)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=224 (local.get $x)) (local.get $q2))))
            (v128.load32_splat offset=200 (local.get $s)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=352 (local.get $x)) (local.get $q3))))
            (v128.load32_splat offset=208 (local.get $s)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=480 (local.get $x)) (local.get $q4))))
            (v128.load32_splat offset=216 (local.get $s)))))
          (local.set $ta (v128.load offset=16 (local.get $ql)))
          (local.set $tb (v128.load offset=48 (local.get $ql)))
          (local.set $th (v128.load offset=16 (local.get $qh)))
          (local.set $q1 (v128.or (v128.and (local.get $ta) (local.get $m4))
                                  (v128.and (i16x8.shl (local.get $th) (i32.const 4)) (local.get $m2))))
          (local.set $q2 (v128.or (v128.and (local.get $tb) (local.get $m4))
                                  (v128.and (i16x8.shl (local.get $th) (i32.const 2)) (local.get $m2))))
          (local.set $q3 (v128.or (v128.and (i16x8.shr_u (local.get $ta) (i32.const 4)) (local.get $m4))
                                  (v128.and (local.get $th) (local.get $m2))))
          (local.set $q4 (v128.or (v128.and (i16x8.shr_u (local.get $tb) (i32.const 4)) (local.get $m4))
                                  (v128.and (i16x8.shr_u (local.get $th) (i32.const 2)) (local.get $m2))))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=16 (local.get $x)) (local.get $q1))))
            (v128.load32_splat offset=4 (local.get $s)))))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=144 (local.get $x)) (local.get $q2))))
            (v128.load32_splat offset=12 (local.get $s)))))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=272 (local.get $x)) (local.get $q3))))
            (v128.load32_splat offset=20 (local.get $s)))))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=400 (local.get $x)) (local.get $q4))))
            (v128.load32_splat offset=28 (local.get $s)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=48 (local.get $x)) (local.get $q1))))
            (v128.load32_splat offset=68 (local.get $s)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=176 (local.get $x)) (local.get $q2))))
            (v128.load32_splat offset=76 (local.get $s)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=304 (local.get $x)) (local.get $q3))))
            (v128.load32_splat offset=84 (local.get $s)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=432 (local.get $x)) (local.get $q4))))
            (v128.load32_splat offset=92 (local.get $s)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=80 (local.get $x)) (local.get $q1))))
            (v128.load32_splat offset=132 (local.get $s)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=208 (local.get $x)) (local.get $q2))))
            (v128.load32_splat offset=140 (local.get $s)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=336 (local.get $x)) (local.get $q3))))
            (v128.load32_splat offset=148 (local.get $s)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=464 (local.get $x)) (local.get $q4))))
            (v128.load32_splat offset=156 (local.get $s)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=112 (local.get $x)) (local.get $q1))))
            (v128.load32_splat offset=196 (local.get $s)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=240 (local.get $x)) (local.get $q2))))
            (v128.load32_splat offset=204 (local.get $s)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=368 (local.get $x)) (local.get $q3))))
            (v128.load32_splat offset=212 (local.get $s)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s
            (i32x4.extadd_pairwise_i16x8_s
              (i16x8.dot_i8x16_i7x16_s (v128.load offset=496 (local.get $x)) (local.get $q4))))
            (v128.load32_splat offset=220 (local.get $s)))))
          (local.set $ql (i32.add (local.get $ql) (i32.const 64)))
          (local.set $qh (i32.add (local.get $qh) (i32.const 32)))
          (local.set $x (i32.add (local.get $x) (i32.const 512)))
          (local.set $s (i32.add (local.get $s) (i32.const 32)))
          (br_if $half (local.tee $h (i32.sub (local.get $h) (i32.const 1)))))
        ;; the halves moved s by 64 bytes; the next super-block's scales start 256 bytes on
        (local.set $s (i32.add (local.get $s) (i32.const 192)))
        (local.set $w (i32.add (local.get $w) (i32.const 210)))
        (br_if $super (local.tee $nsb (i32.sub (local.get $nsb) (i32.const 1)))))))
    (call $store4 (local.get $out) (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3)))
  ;; ---------------------------------------------------------------- F32 products (wasm/src/matmul_f32.rs)
  ;; Rows r0..r1 of out[n, rows] = x[n, cols] · wᵀ (w and x f32 rows of `cols`, out token stride `rows`),
  ;; in register tiles of 3 weight rows × 3, 2 or 1 tokens. The range is cut in three equal parts and a
  ;; tile takes the i-th row of each, so the weights stream from three long sequential runs (adjacent
  ;; rows in a tile made three short streams per tile, which the hardware prefetcher never caught: a
  ;; third of the DRAM speed); the last len % 3 rows go in one short tile.
  ;; Per (row, token): one f32x4 accumulator over the columns 4 at a time by f32x4.relaxed_madd (fused
  ;; where the CPU has FMA), then hsum, plus a scalar mul-then-add sum of the last cols % 4 columns: the
  ;; same order in every tile, so a token's result does not depend on its batch-mates.
  ;; The tiles ($f32_tile_3/2/1, after $f32_tokens) are one pattern written out: per 4-column step, load
  ;; each token's x, then per row load w and multiply-add it into that row's accumulators; 8 steps per
  ;; loop iteration at immediate offsets (a loop of 2 steps ran 1.3× slower: V8 spends an instruction per
  ;; pointer bump, and the loop is bound by instruction count, not by the FMA units), then single steps.
  ;; The horizontal sums at a tile's end are written inline (same order as $hsum): a call there made V8
  ;; spill every live accumulator around it, 16 % of a 288-column tile's time.
  (func (export "f32_rows") (param $w i32) (param $x i32) (param $cols i32) (param $out i32) (param $rows i32)
    (param $r0 i32) (param $r1 i32) (param $n i32)
    (local $stride i32) (local $per i32) (local $i i32) (local $wp i32) (local $op i32) (local $wrs i32)
    (local $rem i32)
    (local.set $stride (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $per (i32.div_u (i32.sub (local.get $r1) (local.get $r0)) (i32.const 3)))
    (local.set $wrs (i32.mul (local.get $per) (local.get $stride)))
    (local.set $wp (i32.add (local.get $w) (i32.mul (local.get $r0) (local.get $stride))))
    (local.set $op (i32.add (local.get $out) (i32.shl (local.get $r0) (i32.const 2))))
    (if (local.tee $i (local.get $per)) (then
      (loop $tile
        (call $f32_tokens (local.get $wp) (i32.add (local.get $wp) (local.get $wrs))
          (i32.add (local.get $wp) (i32.shl (local.get $wrs) (i32.const 1)))
          (local.get $x) (local.get $cols) (local.get $op) (i32.shl (local.get $per) (i32.const 2))
          (i32.shl (local.get $rows) (i32.const 2)) (local.get $n) (i32.const 3))
        (local.set $wp (i32.add (local.get $wp) (local.get $stride)))
        (local.set $op (i32.add (local.get $op) (i32.const 4)))
        (br_if $tile (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))))
    ;; the short tile: rows r0 + 3·per .. r1, adjacent
    (local.set $rem (i32.sub (i32.sub (local.get $r1) (local.get $r0)) (i32.mul (local.get $per) (i32.const 3))))
    (if (local.get $rem) (then
      (local.set $wp (i32.add (local.get $wp) (i32.shl (local.get $wrs) (i32.const 1))))
      (local.set $op (i32.add (local.get $op) (i32.shl (local.get $per) (i32.const 3))))
      (call $f32_tokens (local.get $wp)
        (select (i32.add (local.get $wp) (local.get $stride)) (local.get $wp) (i32.gt_u (local.get $rem) (i32.const 1)))
        (local.get $wp)
        (local.get $x) (local.get $cols) (local.get $op) (i32.const 4)
        (i32.shl (local.get $rows) (i32.const 2)) (local.get $n) (local.get $rem)))))

  ;; One row tile (rows at w0, w1, w2, the first nr of them real; outputs at o + r·ro) × all n tokens,
  ;; three tokens at a time, then a tile of two or one.
  (func $f32_tokens (param $w0 i32) (param $w1 i32) (param $w2 i32) (param $x i32) (param $cols i32)
    (param $o i32) (param $ro i32) (param $os i32) (param $n i32) (param $nr i32)
    (local $xs i32)
    (local.set $xs (i32.shl (local.get $cols) (i32.const 2)))
    (block $done
      (loop $tokens
        (br_if $done (i32.lt_u (local.get $n) (i32.const 3)))
        (call $f32_tile_3 (local.get $w0) (local.get $w1) (local.get $w2) (local.get $x)
          (i32.add (local.get $x) (local.get $xs)) (i32.add (local.get $x) (i32.shl (local.get $xs) (i32.const 1)))
          (local.get $cols) (local.get $o) (local.get $ro) (local.get $os) (local.get $nr))
        (local.set $x (i32.add (local.get $x) (i32.mul (local.get $xs) (i32.const 3))))
        (local.set $o (i32.add (local.get $o) (i32.mul (local.get $os) (i32.const 3))))
        (local.set $n (i32.sub (local.get $n) (i32.const 3)))
        (br $tokens)))
    (if (i32.eq (local.get $n) (i32.const 2)) (then
      (call $f32_tile_2 (local.get $w0) (local.get $w1) (local.get $w2) (local.get $x)
        (i32.add (local.get $x) (local.get $xs))
        (local.get $cols) (local.get $o) (local.get $ro) (local.get $os) (local.get $nr))))
    (if (i32.eq (local.get $n) (i32.const 1)) (then
      (call $f32_tile_1 (local.get $w0) (local.get $w1) (local.get $w2) (local.get $x)
        (local.get $cols) (local.get $o) (local.get $ro) (local.get $os) (local.get $nr)))))

  ;; Tile of 3 weight rows (w0, w1, w2; repeated pointers for a short last tile) × 3 tokens.
  (func $f32_tile_3 (param $w0 i32) (param $w1 i32) (param $w2 i32) (param $x0 i32) (param $x1 i32) (param $x2 i32) (param $cols i32) (param $o i32) (param $ro i32) (param $os i32) (param $nr i32)
    (local $k i32) (local $h v128) (local $wv v128) (local $v0 v128) (local $v1 v128) (local $v2 v128)
    (local $a00 v128) (local $a01 v128) (local $a02 v128) (local $a10 v128) (local $a11 v128) (local $a12 v128) (local $a20 v128) (local $a21 v128) (local $a22 v128)
    (local $s00 f32) (local $s01 f32) (local $s02 f32) (local $s10 f32) (local $s11 f32) (local $s12 f32) (local $s20 f32) (local $s21 f32) (local $s22 f32)
    ;; 32 columns per iteration, eight 4-column steps into the same accumulators
    (if (local.tee $k (i32.shr_u (local.get $cols) (i32.const 5))) (then
      (loop $c32
        (local.set $v0 (v128.load offset=0 (local.get $x0)))
        (local.set $v1 (v128.load offset=0 (local.get $x1)))
        (local.set $v2 (v128.load offset=0 (local.get $x2)))
        (local.set $wv (v128.load offset=0 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $a02 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a02)))
        (local.set $wv (v128.load offset=0 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $a12 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a12)))
        (local.set $wv (v128.load offset=0 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $a22 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a22)))
        (local.set $v0 (v128.load offset=16 (local.get $x0)))
        (local.set $v1 (v128.load offset=16 (local.get $x1)))
        (local.set $v2 (v128.load offset=16 (local.get $x2)))
        (local.set $wv (v128.load offset=16 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $a02 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a02)))
        (local.set $wv (v128.load offset=16 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $a12 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a12)))
        (local.set $wv (v128.load offset=16 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $a22 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a22)))
        (local.set $v0 (v128.load offset=32 (local.get $x0)))
        (local.set $v1 (v128.load offset=32 (local.get $x1)))
        (local.set $v2 (v128.load offset=32 (local.get $x2)))
        (local.set $wv (v128.load offset=32 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $a02 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a02)))
        (local.set $wv (v128.load offset=32 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $a12 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a12)))
        (local.set $wv (v128.load offset=32 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $a22 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a22)))
        (local.set $v0 (v128.load offset=48 (local.get $x0)))
        (local.set $v1 (v128.load offset=48 (local.get $x1)))
        (local.set $v2 (v128.load offset=48 (local.get $x2)))
        (local.set $wv (v128.load offset=48 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $a02 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a02)))
        (local.set $wv (v128.load offset=48 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $a12 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a12)))
        (local.set $wv (v128.load offset=48 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $a22 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a22)))
        (local.set $v0 (v128.load offset=64 (local.get $x0)))
        (local.set $v1 (v128.load offset=64 (local.get $x1)))
        (local.set $v2 (v128.load offset=64 (local.get $x2)))
        (local.set $wv (v128.load offset=64 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $a02 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a02)))
        (local.set $wv (v128.load offset=64 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $a12 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a12)))
        (local.set $wv (v128.load offset=64 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $a22 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a22)))
        (local.set $v0 (v128.load offset=80 (local.get $x0)))
        (local.set $v1 (v128.load offset=80 (local.get $x1)))
        (local.set $v2 (v128.load offset=80 (local.get $x2)))
        (local.set $wv (v128.load offset=80 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $a02 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a02)))
        (local.set $wv (v128.load offset=80 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $a12 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a12)))
        (local.set $wv (v128.load offset=80 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $a22 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a22)))
        (local.set $v0 (v128.load offset=96 (local.get $x0)))
        (local.set $v1 (v128.load offset=96 (local.get $x1)))
        (local.set $v2 (v128.load offset=96 (local.get $x2)))
        (local.set $wv (v128.load offset=96 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $a02 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a02)))
        (local.set $wv (v128.load offset=96 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $a12 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a12)))
        (local.set $wv (v128.load offset=96 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $a22 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a22)))
        (local.set $v0 (v128.load offset=112 (local.get $x0)))
        (local.set $v1 (v128.load offset=112 (local.get $x1)))
        (local.set $v2 (v128.load offset=112 (local.get $x2)))
        (local.set $wv (v128.load offset=112 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $a02 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a02)))
        (local.set $wv (v128.load offset=112 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $a12 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a12)))
        (local.set $wv (v128.load offset=112 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $a22 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a22)))
        (local.set $w0 (i32.add (local.get $w0) (i32.const 128)))
        (local.set $w1 (i32.add (local.get $w1) (i32.const 128)))
        (local.set $w2 (i32.add (local.get $w2) (i32.const 128)))
        (local.set $x0 (i32.add (local.get $x0) (i32.const 128)))
        (local.set $x1 (i32.add (local.get $x1) (i32.const 128)))
        (local.set $x2 (i32.add (local.get $x2) (i32.const 128)))
        (br_if $c32 (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    ;; then 4 columns per iteration
    (if (local.tee $k (i32.and (i32.shr_u (local.get $cols) (i32.const 2)) (i32.const 7))) (then
      (loop $c4
        (local.set $v0 (v128.load offset=0 (local.get $x0)))
        (local.set $v1 (v128.load offset=0 (local.get $x1)))
        (local.set $v2 (v128.load offset=0 (local.get $x2)))
        (local.set $wv (v128.load offset=0 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $a02 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a02)))
        (local.set $wv (v128.load offset=0 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $a12 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a12)))
        (local.set $wv (v128.load offset=0 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $a22 (f32x4.relaxed_madd (local.get $wv) (local.get $v2) (local.get $a22)))
        (local.set $w0 (i32.add (local.get $w0) (i32.const 16)))
        (local.set $w1 (i32.add (local.get $w1) (i32.const 16)))
        (local.set $w2 (i32.add (local.get $w2) (i32.const 16)))
        (local.set $x0 (i32.add (local.get $x0) (i32.const 16)))
        (local.set $x1 (i32.add (local.get $x1) (i32.const 16)))
        (local.set $x2 (i32.add (local.get $x2) (i32.const 16)))
        (br_if $c4 (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    ;; the last cols % 4 columns, one scalar sum per (row, token)
    (if (local.tee $k (i32.and (local.get $cols) (i32.const 3))) (then
      (loop $c1
        (local.set $s00 (f32.add (local.get $s00) (f32.mul (f32.load (local.get $w0)) (f32.load (local.get $x0)))))
        (local.set $s01 (f32.add (local.get $s01) (f32.mul (f32.load (local.get $w0)) (f32.load (local.get $x1)))))
        (local.set $s02 (f32.add (local.get $s02) (f32.mul (f32.load (local.get $w0)) (f32.load (local.get $x2)))))
        (local.set $s10 (f32.add (local.get $s10) (f32.mul (f32.load (local.get $w1)) (f32.load (local.get $x0)))))
        (local.set $s11 (f32.add (local.get $s11) (f32.mul (f32.load (local.get $w1)) (f32.load (local.get $x1)))))
        (local.set $s12 (f32.add (local.get $s12) (f32.mul (f32.load (local.get $w1)) (f32.load (local.get $x2)))))
        (local.set $s20 (f32.add (local.get $s20) (f32.mul (f32.load (local.get $w2)) (f32.load (local.get $x0)))))
        (local.set $s21 (f32.add (local.get $s21) (f32.mul (f32.load (local.get $w2)) (f32.load (local.get $x1)))))
        (local.set $s22 (f32.add (local.get $s22) (f32.mul (f32.load (local.get $w2)) (f32.load (local.get $x2)))))
        (local.set $w0 (i32.add (local.get $w0) (i32.const 4)))
        (local.set $w1 (i32.add (local.get $w1) (i32.const 4)))
        (local.set $w2 (i32.add (local.get $w2) (i32.const 4)))
        (local.set $x0 (i32.add (local.get $x0) (i32.const 4)))
        (local.set $x1 (i32.add (local.get $x1) (i32.const 4)))
        (local.set $x2 (i32.add (local.get $x2) (i32.const 4)))
        (br_if $c1 (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    ;; row r, token t → out at o + r·ro + t·os; rows < nr only
    (f32.store (local.get $o) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a00) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a00) (local.get $a00))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s00)))
    (f32.store (i32.add (local.get $o) (local.get $os)) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a01) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a01) (local.get $a01))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s01)))
    (f32.store (i32.add (local.get $o) (i32.mul (local.get $os) (i32.const 2))) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a02) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a02) (local.get $a02))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s02)))
    (if (i32.gt_u (local.get $nr) (i32.const 1)) (then
      (local.set $o (i32.add (local.get $o) (local.get $ro)))
      (f32.store (local.get $o) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a10) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a10) (local.get $a10))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s10)))
      (f32.store (i32.add (local.get $o) (local.get $os)) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a11) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a11) (local.get $a11))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s11)))
      (f32.store (i32.add (local.get $o) (i32.mul (local.get $os) (i32.const 2))) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a12) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a12) (local.get $a12))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s12)))))
    (if (i32.gt_u (local.get $nr) (i32.const 2)) (then
      (local.set $o (i32.add (local.get $o) (local.get $ro)))
      (f32.store (local.get $o) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a20) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a20) (local.get $a20))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s20)))
      (f32.store (i32.add (local.get $o) (local.get $os)) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a21) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a21) (local.get $a21))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s21)))
      (f32.store (i32.add (local.get $o) (i32.mul (local.get $os) (i32.const 2))) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a22) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a22) (local.get $a22))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s22)))))
  )

  ;; Tile of 3 weight rows (w0, w1, w2; repeated pointers for a short last tile) × 2 tokens.
  (func $f32_tile_2 (param $w0 i32) (param $w1 i32) (param $w2 i32) (param $x0 i32) (param $x1 i32) (param $cols i32) (param $o i32) (param $ro i32) (param $os i32) (param $nr i32)
    (local $k i32) (local $h v128) (local $wv v128) (local $v0 v128) (local $v1 v128)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128) (local $a20 v128) (local $a21 v128)
    (local $s00 f32) (local $s01 f32) (local $s10 f32) (local $s11 f32) (local $s20 f32) (local $s21 f32)
    ;; 32 columns per iteration, eight 4-column steps into the same accumulators
    (if (local.tee $k (i32.shr_u (local.get $cols) (i32.const 5))) (then
      (loop $c32
        (local.set $v0 (v128.load offset=0 (local.get $x0)))
        (local.set $v1 (v128.load offset=0 (local.get $x1)))
        (local.set $wv (v128.load offset=0 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $wv (v128.load offset=0 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $wv (v128.load offset=0 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $v0 (v128.load offset=16 (local.get $x0)))
        (local.set $v1 (v128.load offset=16 (local.get $x1)))
        (local.set $wv (v128.load offset=16 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $wv (v128.load offset=16 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $wv (v128.load offset=16 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $v0 (v128.load offset=32 (local.get $x0)))
        (local.set $v1 (v128.load offset=32 (local.get $x1)))
        (local.set $wv (v128.load offset=32 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $wv (v128.load offset=32 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $wv (v128.load offset=32 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $v0 (v128.load offset=48 (local.get $x0)))
        (local.set $v1 (v128.load offset=48 (local.get $x1)))
        (local.set $wv (v128.load offset=48 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $wv (v128.load offset=48 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $wv (v128.load offset=48 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $v0 (v128.load offset=64 (local.get $x0)))
        (local.set $v1 (v128.load offset=64 (local.get $x1)))
        (local.set $wv (v128.load offset=64 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $wv (v128.load offset=64 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $wv (v128.load offset=64 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $v0 (v128.load offset=80 (local.get $x0)))
        (local.set $v1 (v128.load offset=80 (local.get $x1)))
        (local.set $wv (v128.load offset=80 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $wv (v128.load offset=80 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $wv (v128.load offset=80 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $v0 (v128.load offset=96 (local.get $x0)))
        (local.set $v1 (v128.load offset=96 (local.get $x1)))
        (local.set $wv (v128.load offset=96 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $wv (v128.load offset=96 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $wv (v128.load offset=96 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $v0 (v128.load offset=112 (local.get $x0)))
        (local.set $v1 (v128.load offset=112 (local.get $x1)))
        (local.set $wv (v128.load offset=112 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $wv (v128.load offset=112 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $wv (v128.load offset=112 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $w0 (i32.add (local.get $w0) (i32.const 128)))
        (local.set $w1 (i32.add (local.get $w1) (i32.const 128)))
        (local.set $w2 (i32.add (local.get $w2) (i32.const 128)))
        (local.set $x0 (i32.add (local.get $x0) (i32.const 128)))
        (local.set $x1 (i32.add (local.get $x1) (i32.const 128)))
        (br_if $c32 (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    ;; then 4 columns per iteration
    (if (local.tee $k (i32.and (i32.shr_u (local.get $cols) (i32.const 2)) (i32.const 7))) (then
      (loop $c4
        (local.set $v0 (v128.load offset=0 (local.get $x0)))
        (local.set $v1 (v128.load offset=0 (local.get $x1)))
        (local.set $wv (v128.load offset=0 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $a01 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a01)))
        (local.set $wv (v128.load offset=0 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a11)))
        (local.set $wv (v128.load offset=0 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $a21 (f32x4.relaxed_madd (local.get $wv) (local.get $v1) (local.get $a21)))
        (local.set $w0 (i32.add (local.get $w0) (i32.const 16)))
        (local.set $w1 (i32.add (local.get $w1) (i32.const 16)))
        (local.set $w2 (i32.add (local.get $w2) (i32.const 16)))
        (local.set $x0 (i32.add (local.get $x0) (i32.const 16)))
        (local.set $x1 (i32.add (local.get $x1) (i32.const 16)))
        (br_if $c4 (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    ;; the last cols % 4 columns, one scalar sum per (row, token)
    (if (local.tee $k (i32.and (local.get $cols) (i32.const 3))) (then
      (loop $c1
        (local.set $s00 (f32.add (local.get $s00) (f32.mul (f32.load (local.get $w0)) (f32.load (local.get $x0)))))
        (local.set $s01 (f32.add (local.get $s01) (f32.mul (f32.load (local.get $w0)) (f32.load (local.get $x1)))))
        (local.set $s10 (f32.add (local.get $s10) (f32.mul (f32.load (local.get $w1)) (f32.load (local.get $x0)))))
        (local.set $s11 (f32.add (local.get $s11) (f32.mul (f32.load (local.get $w1)) (f32.load (local.get $x1)))))
        (local.set $s20 (f32.add (local.get $s20) (f32.mul (f32.load (local.get $w2)) (f32.load (local.get $x0)))))
        (local.set $s21 (f32.add (local.get $s21) (f32.mul (f32.load (local.get $w2)) (f32.load (local.get $x1)))))
        (local.set $w0 (i32.add (local.get $w0) (i32.const 4)))
        (local.set $w1 (i32.add (local.get $w1) (i32.const 4)))
        (local.set $w2 (i32.add (local.get $w2) (i32.const 4)))
        (local.set $x0 (i32.add (local.get $x0) (i32.const 4)))
        (local.set $x1 (i32.add (local.get $x1) (i32.const 4)))
        (br_if $c1 (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    ;; row r, token t → out at o + r·ro + t·os; rows < nr only
    (f32.store (local.get $o) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a00) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a00) (local.get $a00))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s00)))
    (f32.store (i32.add (local.get $o) (local.get $os)) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a01) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a01) (local.get $a01))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s01)))
    (if (i32.gt_u (local.get $nr) (i32.const 1)) (then
      (local.set $o (i32.add (local.get $o) (local.get $ro)))
      (f32.store (local.get $o) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a10) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a10) (local.get $a10))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s10)))
      (f32.store (i32.add (local.get $o) (local.get $os)) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a11) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a11) (local.get $a11))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s11)))))
    (if (i32.gt_u (local.get $nr) (i32.const 2)) (then
      (local.set $o (i32.add (local.get $o) (local.get $ro)))
      (f32.store (local.get $o) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a20) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a20) (local.get $a20))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s20)))
      (f32.store (i32.add (local.get $o) (local.get $os)) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a21) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a21) (local.get $a21))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s21)))))
  )

  ;; Tile of 3 weight rows (w0, w1, w2; repeated pointers for a short last tile) × 1 token.
  (func $f32_tile_1 (param $w0 i32) (param $w1 i32) (param $w2 i32) (param $x0 i32) (param $cols i32) (param $o i32) (param $ro i32) (param $os i32) (param $nr i32)
    (local $k i32) (local $h v128) (local $wv v128) (local $v0 v128)
    (local $a00 v128) (local $a10 v128) (local $a20 v128)
    (local $s00 f32) (local $s10 f32) (local $s20 f32)
    ;; 32 columns per iteration, eight 4-column steps into the same accumulators
    (if (local.tee $k (i32.shr_u (local.get $cols) (i32.const 5))) (then
      (loop $c32
        (local.set $v0 (v128.load offset=0 (local.get $x0)))
        (local.set $wv (v128.load offset=0 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $wv (v128.load offset=0 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $wv (v128.load offset=0 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $v0 (v128.load offset=16 (local.get $x0)))
        (local.set $wv (v128.load offset=16 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $wv (v128.load offset=16 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $wv (v128.load offset=16 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $v0 (v128.load offset=32 (local.get $x0)))
        (local.set $wv (v128.load offset=32 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $wv (v128.load offset=32 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $wv (v128.load offset=32 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $v0 (v128.load offset=48 (local.get $x0)))
        (local.set $wv (v128.load offset=48 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $wv (v128.load offset=48 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $wv (v128.load offset=48 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $v0 (v128.load offset=64 (local.get $x0)))
        (local.set $wv (v128.load offset=64 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $wv (v128.load offset=64 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $wv (v128.load offset=64 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $v0 (v128.load offset=80 (local.get $x0)))
        (local.set $wv (v128.load offset=80 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $wv (v128.load offset=80 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $wv (v128.load offset=80 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $v0 (v128.load offset=96 (local.get $x0)))
        (local.set $wv (v128.load offset=96 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $wv (v128.load offset=96 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $wv (v128.load offset=96 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $v0 (v128.load offset=112 (local.get $x0)))
        (local.set $wv (v128.load offset=112 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $wv (v128.load offset=112 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $wv (v128.load offset=112 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $w0 (i32.add (local.get $w0) (i32.const 128)))
        (local.set $w1 (i32.add (local.get $w1) (i32.const 128)))
        (local.set $w2 (i32.add (local.get $w2) (i32.const 128)))
        (local.set $x0 (i32.add (local.get $x0) (i32.const 128)))
        (br_if $c32 (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    ;; then 4 columns per iteration
    (if (local.tee $k (i32.and (i32.shr_u (local.get $cols) (i32.const 2)) (i32.const 7))) (then
      (loop $c4
        (local.set $v0 (v128.load offset=0 (local.get $x0)))
        (local.set $wv (v128.load offset=0 (local.get $w0)))
        (local.set $a00 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a00)))
        (local.set $wv (v128.load offset=0 (local.get $w1)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a10)))
        (local.set $wv (v128.load offset=0 (local.get $w2)))
        (local.set $a20 (f32x4.relaxed_madd (local.get $wv) (local.get $v0) (local.get $a20)))
        (local.set $w0 (i32.add (local.get $w0) (i32.const 16)))
        (local.set $w1 (i32.add (local.get $w1) (i32.const 16)))
        (local.set $w2 (i32.add (local.get $w2) (i32.const 16)))
        (local.set $x0 (i32.add (local.get $x0) (i32.const 16)))
        (br_if $c4 (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    ;; the last cols % 4 columns, one scalar sum per (row, token)
    (if (local.tee $k (i32.and (local.get $cols) (i32.const 3))) (then
      (loop $c1
        (local.set $s00 (f32.add (local.get $s00) (f32.mul (f32.load (local.get $w0)) (f32.load (local.get $x0)))))
        (local.set $s10 (f32.add (local.get $s10) (f32.mul (f32.load (local.get $w1)) (f32.load (local.get $x0)))))
        (local.set $s20 (f32.add (local.get $s20) (f32.mul (f32.load (local.get $w2)) (f32.load (local.get $x0)))))
        (local.set $w0 (i32.add (local.get $w0) (i32.const 4)))
        (local.set $w1 (i32.add (local.get $w1) (i32.const 4)))
        (local.set $w2 (i32.add (local.get $w2) (i32.const 4)))
        (local.set $x0 (i32.add (local.get $x0) (i32.const 4)))
        (br_if $c1 (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))
    ;; row r, token t → out at o + r·ro + t·os; rows < nr only
    (f32.store (local.get $o) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a00) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a00) (local.get $a00))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s00)))
    (if (i32.gt_u (local.get $nr) (i32.const 1)) (then
      (local.set $o (i32.add (local.get $o) (local.get $ro)))
      (f32.store (local.get $o) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a10) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a10) (local.get $a10))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s10)))))
    (if (i32.gt_u (local.get $nr) (i32.const 2)) (then
      (local.set $o (i32.add (local.get $o) (local.get $ro)))
      (f32.store (local.get $o) (f32.add (f32.add (f32x4.extract_lane 0 (local.tee $h (f32x4.add (local.get $a20) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a20) (local.get $a20))))) (f32x4.extract_lane 1 (local.get $h))) (local.get $s20)))))
  )
)
