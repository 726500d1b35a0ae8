;; Relaxed-SIMD integer stage of edgering's quantised matrix products.
;;
;; Same contract as wasm/src/int_dot.rs (read that file's table first): each function writes one i32x4
;; of exact partial sums per block (8 per Q4_K and 16 per Q6_K super-block), for one token or for four
;; tokens sharing each unpacked weight block. The Rust crate imports these as module "relaxed" and its
;; float stage scales the partials, so both paths give bit-identical results.
;;
;; i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c) adds to each lane of c the four products a·b of its
;; bytes; on x86 with AVX-VNNI V8 emits one vpdpbusd, which reads b as *unsigned*. Keeping every b byte in
;; 0..=127 makes the result the same exact integer on every CPU:
;; - Q4_0, Q4_K (nibbles 0..15) and Q6_K (0..63): b = weight quants, a = int8 activations;
;; - Q8_0 (signed quants): b = |x| (activations are quantised to −127..=127), a = w·sign(x). The host
;;   never sends a Q8_0 weight holding −128 here (its negation would not fit in a byte).
;;
;; wabt 1.0.32 spells the instruction `i32x4.dot_i8x16_i7x16_add_s` (same opcode, 0xfd 0x113).
;; Arguments are byte offsets into the shared memory; xs / os are the byte strides between the
;; activation rows / partial rows of consecutive tokens.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; ---------------------------------------------------------------- Q4_0
  ;; w: [nb][16] nibbles (low nibble = value j, high nibble = value j+16); x: [nb][32] int8.
  (func (export "q4_0_1") (param $w i32) (param $x i32) (param $nb i32) (param $out i32)
    (local $end i32) (local $q v128) (local $m v128)
    (local.set $m (i8x16.splat (i32.const 0x0f)))
    (local.set $end (i32.add (local.get $w) (i32.shl (local.get $nb) (i32.const 4))))
    (if (i32.eqz (local.get $nb)) (then (return)))
    (loop $block
      (local.set $q (v128.load (local.get $w)))
      (v128.store (local.get $out)
        (i32x4.dot_i8x16_i7x16_add_s
          (v128.load offset=16 (local.get $x))
          (v128.and (i16x8.shr_u (local.get $q) (i32.const 4)) (local.get $m))
          (i32x4.dot_i8x16_i7x16_add_s
            (v128.load (local.get $x))
            (v128.and (local.get $q) (local.get $m))
            (v128.const i32x4 0 0 0 0))))
      (local.set $w (i32.add (local.get $w) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 32)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (br_if $block (i32.lt_u (local.get $w) (local.get $end)))))

  (func (export "q4_0_4")
    (param $w i32) (param $x i32) (param $xs i32) (param $nb i32) (param $out i32) (param $os i32)
    (local $end i32) (local $lo v128) (local $hi v128) (local $m v128) (local $z v128)
    (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $o1 i32) (local $o2 i32) (local $o3 i32)
    (local.set $m (i8x16.splat (i32.const 0x0f)))
    (local.set $end (i32.add (local.get $w) (i32.shl (local.get $nb) (i32.const 4))))
    (if (i32.eqz (local.get $nb)) (then (return)))
    ;; per-token pointers advance together
    (local.set $x1 (i32.add (local.get $x) (local.get $xs)))
    (local.set $x2 (i32.add (local.get $x1) (local.get $xs)))
    (local.set $x3 (i32.add (local.get $x2) (local.get $xs)))
    (local.set $o1 (i32.add (local.get $out) (local.get $os)))
    (local.set $o2 (i32.add (local.get $o1) (local.get $os)))
    (local.set $o3 (i32.add (local.get $o2) (local.get $os)))
    (loop $block
      (local.set $lo (v128.and (v128.load (local.get $w)) (local.get $m)))
      (local.set $hi (v128.and (i16x8.shr_u (v128.load (local.get $w)) (i32.const 4)) (local.get $m)))
      (v128.store (local.get $out)
        (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=16 (local.get $x)) (local.get $hi)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load (local.get $x)) (local.get $lo) (local.get $z))))
      (v128.store (local.get $o1)
        (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=16 (local.get $x1)) (local.get $hi)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load (local.get $x1)) (local.get $lo) (local.get $z))))
      (v128.store (local.get $o2)
        (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=16 (local.get $x2)) (local.get $hi)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load (local.get $x2)) (local.get $lo) (local.get $z))))
      (v128.store (local.get $o3)
        (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=16 (local.get $x3)) (local.get $hi)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load (local.get $x3)) (local.get $lo) (local.get $z))))
      (local.set $w (i32.add (local.get $w) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 32)))
      (local.set $x1 (i32.add (local.get $x1) (i32.const 32)))
      (local.set $x2 (i32.add (local.get $x2) (i32.const 32)))
      (local.set $x3 (i32.add (local.get $x3) (i32.const 32)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (local.set $o1 (i32.add (local.get $o1) (i32.const 16)))
      (local.set $o2 (i32.add (local.get $o2) (i32.const 16)))
      (local.set $o3 (i32.add (local.get $o3) (i32.const 16)))
      (br_if $block (i32.lt_u (local.get $w) (local.get $end)))))

  ;; ---------------------------------------------------------------- Q8_0
  ;; w: [nb][32] int8; x: [nb][32] int8 in −127..=127. Per 16 bytes: dot(w·sign(x), |x|).
  (func $signed16 (param $w v128) (param $x v128) (param $acc v128) (result v128)
    (local $neg v128)
    (local.set $neg (i8x16.lt_s (local.get $x) (v128.const i32x4 0 0 0 0)))
    (i32x4.dot_i8x16_i7x16_add_s
      (i8x16.sub (v128.xor (local.get $w) (local.get $neg)) (local.get $neg))
      (i8x16.abs (local.get $x))
      (local.get $acc)))

  (func (export "q8_0_1") (param $w i32) (param $x i32) (param $nb i32) (param $out i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $w) (i32.shl (local.get $nb) (i32.const 5))))
    (if (i32.eqz (local.get $nb)) (then (return)))
    (loop $block
      (v128.store (local.get $out)
        (call $signed16 (v128.load offset=16 (local.get $w)) (v128.load offset=16 (local.get $x))
          (call $signed16 (v128.load (local.get $w)) (v128.load (local.get $x)) (v128.const i32x4 0 0 0 0))))
      (local.set $w (i32.add (local.get $w) (i32.const 32)))
      (local.set $x (i32.add (local.get $x) (i32.const 32)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (br_if $block (i32.lt_u (local.get $w) (local.get $end)))))

  (func (export "q8_0_4")
    (param $w i32) (param $x i32) (param $xs i32) (param $nb i32) (param $out i32) (param $os i32)
    (local $end i32) (local $w0 v128) (local $w1 v128) (local $z v128)
    (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $o1 i32) (local $o2 i32) (local $o3 i32)
    (local.set $end (i32.add (local.get $w) (i32.shl (local.get $nb) (i32.const 5))))
    (if (i32.eqz (local.get $nb)) (then (return)))
    (local.set $x1 (i32.add (local.get $x) (local.get $xs)))
    (local.set $x2 (i32.add (local.get $x1) (local.get $xs)))
    (local.set $x3 (i32.add (local.get $x2) (local.get $xs)))
    (local.set $o1 (i32.add (local.get $out) (local.get $os)))
    (local.set $o2 (i32.add (local.get $o1) (local.get $os)))
    (local.set $o3 (i32.add (local.get $o2) (local.get $os)))
    (loop $block
      (local.set $w0 (v128.load (local.get $w)))
      (local.set $w1 (v128.load offset=16 (local.get $w)))
      (v128.store (local.get $out)
        (call $signed16 (local.get $w1) (v128.load offset=16 (local.get $x))
          (call $signed16 (local.get $w0) (v128.load (local.get $x)) (local.get $z))))
      (v128.store (local.get $o1)
        (call $signed16 (local.get $w1) (v128.load offset=16 (local.get $x1))
          (call $signed16 (local.get $w0) (v128.load (local.get $x1)) (local.get $z))))
      (v128.store (local.get $o2)
        (call $signed16 (local.get $w1) (v128.load offset=16 (local.get $x2))
          (call $signed16 (local.get $w0) (v128.load (local.get $x2)) (local.get $z))))
      (v128.store (local.get $o3)
        (call $signed16 (local.get $w1) (v128.load offset=16 (local.get $x3))
          (call $signed16 (local.get $w0) (v128.load (local.get $x3)) (local.get $z))))
      (local.set $w (i32.add (local.get $w) (i32.const 32)))
      (local.set $x (i32.add (local.get $x) (i32.const 32)))
      (local.set $x1 (i32.add (local.get $x1) (i32.const 32)))
      (local.set $x2 (i32.add (local.get $x2) (i32.const 32)))
      (local.set $x3 (i32.add (local.get $x3) (i32.const 32)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (local.set $o1 (i32.add (local.get $o1) (i32.const 16)))
      (local.set $o2 (i32.add (local.get $o2) (i32.const 16)))
      (local.set $o3 (i32.add (local.get $o3) (i32.const 16)))
      (br_if $block (i32.lt_u (local.get $w) (local.get $end)))))

  ;; ---------------------------------------------------------------- Q4_K
  ;; w: GGUF super-blocks of 144 B, nibbles at +16: per 64 values (c = 0..3) 32 bytes whose low nibbles
  ;; are sub-block 2c and high nibbles sub-block 2c+1. Writes 8 partials per super-block.
  (func (export "q4_k_1") (param $w i32) (param $x i32) (param $nsb i32) (param $out i32)
    (local $q i32) (local $qend i32) (local $w0 v128) (local $w1 v128) (local $m v128)
    (local.set $m (i8x16.splat (i32.const 0x0f)))
    (if (i32.eqz (local.get $nsb)) (then (return)))
    (loop $super
      (local.set $q (i32.add (local.get $w) (i32.const 16)))
      (local.set $qend (i32.add (local.get $w) (i32.const 144)))
      (loop $chunk
        (local.set $w0 (v128.load (local.get $q)))
        (local.set $w1 (v128.load offset=16 (local.get $q)))
        (v128.store (local.get $out)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=16 (local.get $x)) (v128.and (local.get $w1) (local.get $m))
            (i32x4.dot_i8x16_i7x16_add_s (v128.load (local.get $x)) (v128.and (local.get $w0) (local.get $m))
              (v128.const i32x4 0 0 0 0))))
        (v128.store offset=16 (local.get $out)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=48 (local.get $x))
            (v128.and (i16x8.shr_u (local.get $w1) (i32.const 4)) (local.get $m))
            (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=32 (local.get $x))
              (v128.and (i16x8.shr_u (local.get $w0) (i32.const 4)) (local.get $m))
              (v128.const i32x4 0 0 0 0))))
        (local.set $q (i32.add (local.get $q) (i32.const 32)))
        (local.set $x (i32.add (local.get $x) (i32.const 64)))
        (local.set $out (i32.add (local.get $out) (i32.const 32)))
        (br_if $chunk (i32.lt_u (local.get $q) (local.get $qend))))
      (local.set $w (local.get $qend))
      (br_if $super (local.tee $nsb (i32.sub (local.get $nsb) (i32.const 1))))))

  (func (export "q4_k_4")
    (param $w i32) (param $x i32) (param $xs i32) (param $nsb i32) (param $out i32) (param $os i32)
    (local $q i32) (local $qend i32) (local $m v128) (local $z v128)
    (local $lo0 v128) (local $lo1 v128) (local $hi0 v128) (local $hi1 v128)
    (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $o1 i32) (local $o2 i32) (local $o3 i32)
    (local.set $m (i8x16.splat (i32.const 0x0f)))
    (if (i32.eqz (local.get $nsb)) (then (return)))
    (local.set $x1 (i32.add (local.get $x) (local.get $xs)))
    (local.set $x2 (i32.add (local.get $x1) (local.get $xs)))
    (local.set $x3 (i32.add (local.get $x2) (local.get $xs)))
    (local.set $o1 (i32.add (local.get $out) (local.get $os)))
    (local.set $o2 (i32.add (local.get $o1) (local.get $os)))
    (local.set $o3 (i32.add (local.get $o2) (local.get $os)))
    (loop $super
      (local.set $q (i32.add (local.get $w) (i32.const 16)))
      (local.set $qend (i32.add (local.get $w) (i32.const 144)))
      (loop $chunk
        (local.set $lo0 (v128.and (v128.load (local.get $q)) (local.get $m)))
        (local.set $lo1 (v128.and (v128.load offset=16 (local.get $q)) (local.get $m)))
        (local.set $hi0 (v128.and (i16x8.shr_u (v128.load (local.get $q)) (i32.const 4)) (local.get $m)))
        (local.set $hi1 (v128.and (i16x8.shr_u (v128.load offset=16 (local.get $q)) (i32.const 4)) (local.get $m)))
        ;; token 0
        (v128.store (local.get $out)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=16 (local.get $x)) (local.get $lo1)
            (i32x4.dot_i8x16_i7x16_add_s (v128.load (local.get $x)) (local.get $lo0) (local.get $z))))
        (v128.store offset=16 (local.get $out)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=48 (local.get $x)) (local.get $hi1)
            (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=32 (local.get $x)) (local.get $hi0) (local.get $z))))
        ;; token 1
        (v128.store (local.get $o1)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=16 (local.get $x1)) (local.get $lo1)
            (i32x4.dot_i8x16_i7x16_add_s (v128.load (local.get $x1)) (local.get $lo0) (local.get $z))))
        (v128.store offset=16 (local.get $o1)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=48 (local.get $x1)) (local.get $hi1)
            (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=32 (local.get $x1)) (local.get $hi0) (local.get $z))))
        ;; token 2
        (v128.store (local.get $o2)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=16 (local.get $x2)) (local.get $lo1)
            (i32x4.dot_i8x16_i7x16_add_s (v128.load (local.get $x2)) (local.get $lo0) (local.get $z))))
        (v128.store offset=16 (local.get $o2)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=48 (local.get $x2)) (local.get $hi1)
            (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=32 (local.get $x2)) (local.get $hi0) (local.get $z))))
        ;; token 3
        (v128.store (local.get $o3)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=16 (local.get $x3)) (local.get $lo1)
            (i32x4.dot_i8x16_i7x16_add_s (v128.load (local.get $x3)) (local.get $lo0) (local.get $z))))
        (v128.store offset=16 (local.get $o3)
          (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=48 (local.get $x3)) (local.get $hi1)
            (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=32 (local.get $x3)) (local.get $hi0) (local.get $z))))
        (local.set $q (i32.add (local.get $q) (i32.const 32)))
        (local.set $x (i32.add (local.get $x) (i32.const 64)))
        (local.set $x1 (i32.add (local.get $x1) (i32.const 64)))
        (local.set $x2 (i32.add (local.get $x2) (i32.const 64)))
        (local.set $x3 (i32.add (local.get $x3) (i32.const 64)))
        (local.set $out (i32.add (local.get $out) (i32.const 32)))
        (local.set $o1 (i32.add (local.get $o1) (i32.const 32)))
        (local.set $o2 (i32.add (local.get $o2) (i32.const 32)))
        (local.set $o3 (i32.add (local.get $o3) (i32.const 32)))
        (br_if $chunk (i32.lt_u (local.get $q) (local.get $qend))))
      (local.set $w (local.get $qend))
      (br_if $super (local.tee $nsb (i32.sub (local.get $nsb) (i32.const 1))))))

  ;; ---------------------------------------------------------------- Q6_K
  ;; w: GGUF super-blocks of 210 B: ql[128] at +0, qh[64] at +128. Per half h (128 values) and per
  ;; l in {0, 16}: a = ql[64h+l..], b = ql[64h+32+l..], hb = qh[32h+l..] (16 bytes each) give the four
  ;; 16-value sub-blocks at values 128h + l + {0, 32, 64, 96}:
  ;;   q1 = (a & 15) | (hb << 4 & 48)   q2 = (b & 15) | (hb << 2 & 48)
  ;;   q3 = (a >> 4 & 15) | (hb & 48)   q4 = (b >> 4 & 15) | (hb >> 2 & 48)
  ;; Partials are written in value order: 16 per super-block, sub-block index 8h + l/16 + {0, 2, 4, 6}.
  ;; $quarter unpacks one (h, l) step into the four q vectors (returned in that order).
  (func $quarter (param $ql i32) (param $qh i32) (result v128 v128 v128 v128)
    (local $a v128) (local $b v128) (local $hb v128) (local $m4 v128) (local $m2 v128)
    (local.set $m4 (i8x16.splat (i32.const 0x0f)))
    (local.set $m2 (i8x16.splat (i32.const 0x30)))
    (local.set $a (v128.load (local.get $ql)))
    (local.set $b (v128.load offset=32 (local.get $ql)))
    (local.set $hb (v128.load (local.get $qh)))
    (v128.or (v128.and (local.get $a) (local.get $m4))
             (v128.and (i16x8.shl (local.get $hb) (i32.const 4)) (local.get $m2)))
    (v128.or (v128.and (local.get $b) (local.get $m4))
             (v128.and (i16x8.shl (local.get $hb) (i32.const 2)) (local.get $m2)))
    (v128.or (v128.and (i16x8.shr_u (local.get $a) (i32.const 4)) (local.get $m4))
             (v128.and (local.get $hb) (local.get $m2)))
    (v128.or (v128.and (i16x8.shr_u (local.get $b) (i32.const 4)) (local.get $m4))
             (v128.and (i16x8.shr_u (local.get $hb) (i32.const 2)) (local.get $m2))))

  ;; One token: x points at the (h, l) step's first value, out at its first partial.
  (func $q6_store1 (param $x i32) (param $out i32) (param $q1 v128) (param $q2 v128) (param $q3 v128) (param $q4 v128)
    (v128.store (local.get $out)
      (i32x4.dot_i8x16_i7x16_add_s (v128.load (local.get $x)) (local.get $q1) (v128.const i32x4 0 0 0 0)))
    (v128.store offset=32 (local.get $out)
      (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=32 (local.get $x)) (local.get $q2) (v128.const i32x4 0 0 0 0)))
    (v128.store offset=64 (local.get $out)
      (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=64 (local.get $x)) (local.get $q3) (v128.const i32x4 0 0 0 0)))
    (v128.store offset=96 (local.get $out)
      (i32x4.dot_i8x16_i7x16_add_s (v128.load offset=96 (local.get $x)) (local.get $q4) (v128.const i32x4 0 0 0 0))))

  (func (export "q6_k_1") (param $w i32) (param $x i32) (param $nsb i32) (param $out i32)
    (local $h i32) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $q4 v128)
    (if (i32.eqz (local.get $nsb)) (then (return)))
    (loop $super
      (local.set $h (i32.const 0))
      (loop $half
        ;; l = 0
        (call $quarter (i32.add (local.get $w) (i32.shl (local.get $h) (i32.const 6)))
                       (i32.add (local.get $w) (i32.add (i32.const 128) (i32.shl (local.get $h) (i32.const 5)))))
        (local.set $q4) (local.set $q3) (local.set $q2) (local.set $q1)
        (call $q6_store1 (local.get $x) (local.get $out) (local.get $q1) (local.get $q2) (local.get $q3) (local.get $q4))
        ;; l = 16
        (call $quarter (i32.add (local.get $w) (i32.add (i32.const 16) (i32.shl (local.get $h) (i32.const 6))))
                       (i32.add (local.get $w) (i32.add (i32.const 144) (i32.shl (local.get $h) (i32.const 5)))))
        (local.set $q4) (local.set $q3) (local.set $q2) (local.set $q1)
        (call $q6_store1 (i32.add (local.get $x) (i32.const 16)) (i32.add (local.get $out) (i32.const 16))
          (local.get $q1) (local.get $q2) (local.get $q3) (local.get $q4))
        (local.set $x (i32.add (local.get $x) (i32.const 128)))
        (local.set $out (i32.add (local.get $out) (i32.const 128)))
        (br_if $half (i32.lt_u (local.tee $h (i32.add (local.get $h) (i32.const 1))) (i32.const 2))))
      (local.set $w (i32.add (local.get $w) (i32.const 210)))
      (br_if $super (local.tee $nsb (i32.sub (local.get $nsb) (i32.const 1))))))

  (func (export "q6_k_4")
    (param $w i32) (param $x i32) (param $xs i32) (param $nsb i32) (param $out i32) (param $os i32)
    (local $h i32) (local $l i32) (local $xl i32) (local $ol i32)
    (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $q4 v128)
    (if (i32.eqz (local.get $nsb)) (then (return)))
    (loop $super
      (local.set $h (i32.const 0))
      (loop $half
        (local.set $l (i32.const 0))
        (loop $step
          (call $quarter
            (i32.add (local.get $w) (i32.add (local.get $l) (i32.shl (local.get $h) (i32.const 6))))
            (i32.add (local.get $w) (i32.add (i32.add (i32.const 128) (local.get $l)) (i32.shl (local.get $h) (i32.const 5)))))
          (local.set $q4) (local.set $q3) (local.set $q2) (local.set $q1)
          (local.set $xl (i32.add (local.get $x) (local.get $l)))
          (local.set $ol (i32.add (local.get $out) (local.get $l)))
          (call $q6_store1 (local.get $xl) (local.get $ol) (local.get $q1) (local.get $q2) (local.get $q3) (local.get $q4))
          (local.set $xl (i32.add (local.get $xl) (local.get $xs)))
          (local.set $ol (i32.add (local.get $ol) (local.get $os)))
          (call $q6_store1 (local.get $xl) (local.get $ol) (local.get $q1) (local.get $q2) (local.get $q3) (local.get $q4))
          (local.set $xl (i32.add (local.get $xl) (local.get $xs)))
          (local.set $ol (i32.add (local.get $ol) (local.get $os)))
          (call $q6_store1 (local.get $xl) (local.get $ol) (local.get $q1) (local.get $q2) (local.get $q3) (local.get $q4))
          (local.set $xl (i32.add (local.get $xl) (local.get $xs)))
          (local.set $ol (i32.add (local.get $ol) (local.get $os)))
          (call $q6_store1 (local.get $xl) (local.get $ol) (local.get $q1) (local.get $q2) (local.get $q3) (local.get $q4))
          (br_if $step (i32.lt_u (local.tee $l (i32.add (local.get $l) (i32.const 16))) (i32.const 32))))
        (local.set $x (i32.add (local.get $x) (i32.const 128)))
        (local.set $out (i32.add (local.get $out) (i32.const 128)))
        (br_if $half (i32.lt_u (local.tee $h (i32.add (local.get $h) (i32.const 1))) (i32.const 2))))
      (local.set $w (i32.add (local.get $w) (i32.const 210)))
      (br_if $super (local.tee $nsb (i32.sub (local.get $nsb) (i32.const 1)))))))
