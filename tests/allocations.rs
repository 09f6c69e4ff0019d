//! The hot calls allocate nothing on one thread (the README's "caller-provided outputs, no
//! allocation"): every conversion, stochastic rounding, the fused update, the dots, GEMV,
//! `gemm_packed`, SpMM with `beta != 0` and `spmm_xt` after a thread's first call of a size,
//! SpMV (both orientations, and packed) and SpMM, MX quantizing and dequantizing, on every
//! backend. A global allocator counts this thread's allocations.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::{backends, gemm_backends};
use half::{bf16, f16};
use lowp::fmac::{MatMut, MatRef, Par};
use lowp::sparse::{PackedCsr, PackedLayout};

/// The system allocator, counting the allocations of each thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed on to the system allocator unchanged; the count is a
// thread-local `Cell` with a const initializer, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above; `ptr` came from `System.alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many times `f` allocated on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// Asserts that `f` allocates nothing once it has run once (a thread's first call of a size
/// may set up its workspace).
fn assert_steady_state_allocates_nothing(what: &str, mut f: impl FnMut()) {
    f();
    assert_eq!(allocations(f), 0, "{what} allocated");
}

#[test]
fn the_counter_sees_an_allocation() {
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 3]))), 1);
}

#[test]
fn conversions_rounding_and_updates_allocate_nothing() {
    let n = 1000;
    let src: Vec<f32> = (0..n).map(|i| i as f32 * 0.37 - 100.0).collect();
    let (mut b, mut h, mut back) = (vec![bf16::ZERO; n], vec![f16::ZERO; n], vec![0f32; n]);
    let g: Vec<bf16> = src.iter().map(|&v| bf16::from_f32(v * 1e-3)).collect();
    for be in backends() {
        let name = format!("{be:?}");
        assert_steady_state_allocates_nothing(&name, || {
            be.f32_to_bf16(&src, &mut b).unwrap();
            be.bf16_to_f32(&b, &mut back).unwrap();
            be.f32_to_f16(&src, &mut h).unwrap();
            be.f16_to_f32(&h, &mut back).unwrap();
            be.f32_to_bf16_stochastic(&src, &mut b, 7, 3).unwrap();
            be.f32_to_f16_stochastic(&src, &mut h, 7, 3).unwrap();
            be.axpy_bf16_stochastic(0.5, &src, &mut b, 7, 3).unwrap();
            be.axpy_bf16_stochastic(0.5, &g, &mut b, 7, 3).unwrap();
        });
    }
}

#[test]
fn mx_blocks_allocate_nothing_even_on_the_first_call() {
    use lowp::blockfp::MxFormat;
    let src: Vec<f32> = (0..1000).map(|i| i as f32 * 0.37 - 100.0).collect();
    let mut back = vec![0f32; src.len()];
    for format in MxFormat::ALL {
        let blocks = format.blocks(src.len());
        let (mut scales, mut codes) = (vec![0u8; blocks], vec![0u8; blocks * format.block_bytes()]);
        for be in backends() {
            let count = allocations(|| {
                be.mx_quantize(format, &src, &mut scales, &mut codes)
                    .unwrap();
                be.mx_dequantize(format, &scales, &codes, &mut back)
                    .unwrap();
            });
            assert_eq!(count, 0, "{be:?} {format} allocated");
        }
    }
}

#[test]
fn dots_and_gemv_allocate_nothing() {
    let (n, k) = (37, 300);
    let x: Vec<f32> = (0..k).map(|i| i as f32 * 0.01).collect();
    let xb: Vec<bf16> = x.iter().map(|&v| bf16::from_f32(v)).collect();
    let xh: Vec<f16> = x.iter().map(|&v| f16::from_f32(v)).collect();
    let w: Vec<bf16> = (0..n * k).map(|i| bf16::from_f32((i % 7) as f32)).collect();
    let mut y = vec![0f32; n];
    for be in backends() {
        assert_steady_state_allocates_nothing(&format!("{be:?}"), || {
            be.dot_bf16(&xb, &xb).unwrap();
            be.dot_f16(&xh, &xh).unwrap();
            be.dot_f32_bf16(&x, &xb).unwrap();
            for par in [Par::Seq, Par::default()] {
                let wm = MatRef::new(&w, n, k).unwrap();
                be.gemv(1.0, wm, &x, 0.5, &mut y, par).unwrap();
            }
        });
    }
}

#[test]
fn gemm_packed_allocates_nothing_after_the_first_call() {
    let (m, k, n) = (50, 70, 90);
    let a: Vec<bf16> = (0..m * k).map(|i| bf16::from_f32((i % 5) as f32)).collect();
    let b: Vec<bf16> = (0..k * n).map(|i| bf16::from_f32((i % 3) as f32)).collect();
    let mut c = vec![0f32; m * n];
    for be in gemm_backends() {
        let packed = be.pack_b(MatRef::new(&b, k, n).unwrap());
        assert_steady_state_allocates_nothing(&format!("{be:?}"), || {
            let (am, cm) = (
                MatRef::new(&a, m, k).unwrap(),
                MatMut::new(&mut c, m, n).unwrap(),
            );
            be.gemm_packed(1.0, am, &packed, 0.0, cm, Par::Seq).unwrap();
        });
    }
}

#[test]
fn sparse_products_allocate_nothing_on_one_thread() {
    let (rows, cols, n) = (60, 200, 33);
    let a = common::strided_csr(rows, cols);
    let at = a.clone().transpose(); // CSC of Aᵀ: spmv_t gives A·x again
    let packed = PackedCsr::pack_with(a.view(), PackedLayout::Gather);
    let windowed = PackedCsr::pack_with(a.view(), PackedLayout::Windowed);
    let hybrid = PackedCsr::pack_with(a.view(), PackedLayout::Hybrid);
    let x = vec![0.5f32; cols];
    let (mut y, mut y2) = (vec![0f32; rows], vec![0f32; rows]);
    let b = vec![1.5f32; cols * n];
    let mut c = vec![0f32; rows * n];
    for be in backends() {
        assert_steady_state_allocates_nothing(&format!("{be:?}"), || {
            for par in [Par::Seq, Par::default()] {
                be.spmv(1.0, a.view(), &x, 0.5, &mut y, par).unwrap();
                be.spmv_t(1.0, at.view(), &x, 0.0, &mut y2, par).unwrap();
                be.spmv_packed(1.0, &packed, &x, 0.5, &mut y, par).unwrap();
                be.spmv_packed(1.0, &windowed, &x, 0.5, &mut y, par)
                    .unwrap();
                be.spmv_packed(1.0, &hybrid, &x, 0.5, &mut y, par).unwrap();
                let (bm, cm) = (
                    MatRef::new(&b, cols, n).unwrap(),
                    MatMut::new(&mut c, rows, n).unwrap(),
                );
                be.spmm(2.0, a.view(), bm, 0.0, cm, par).unwrap();
                let (bm, cm) = (
                    MatRef::new(&b, cols, n).unwrap(),
                    MatMut::new(&mut c, rows, n).unwrap(),
                );
                be.spmm(2.0, a.view(), bm, 0.5, cm, par).unwrap();
                // The linear-layer layout: X [n × cols] as rows, Y [n × rows].
                let (xm, ym) = (
                    MatRef::new(&b, n, cols).unwrap(),
                    MatMut::new(&mut c, n, rows).unwrap(),
                );
                be.spmm_xt(2.0, xm, a.view(), 0.5, ym, par).unwrap();
            }
        });
    }
}
