//! [`Par`]: how a kernel may use threads, and the splitting shared by GEMV and GEMM.

use half::{bf16, f16};

use crate::Element;

/// How a kernel may spread its work over threads. Work is split over outputs only, so the
/// result has the same bits for every choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Par {
    /// The calling thread only.
    Seq,
    /// Up to `n` tasks on the current rayon pool (`0`: as many as the pool has threads; the
    /// default). Small problems stay on the calling thread. Without the `rayon` feature, the
    /// same as `Seq`.
    Rayon(usize),
}

impl Default for Par {
    fn default() -> Par {
        Par::Rayon(0)
    }
}

/// An input element type of the multiply-accumulate kernels: `f32`, `half::bf16` or
/// `half::f16`. Each widens exactly to f32.
pub trait Input: Element + Sync + Into<f32> {}

impl Input for f32 {}

impl Input for bf16 {}

impl Input for f16 {}

/// A slice of `W` as `T`, for a `T` the caller matched against `W::DTYPE` (the same type).
pub(crate) fn same_type<W: Input, T: bytemuck::Pod>(v: &[W]) -> &[T] {
    bytemuck::cast_slice(v)
}

/// Below this many multiply-adds a call stays on one thread: spawning costs more.
const PARALLEL_MIN_WORK: usize = 1 << 20;

/// [`PARALLEL_MIN_WORK`] for a sparse matrix-vector product, in nonzeros plus rows (the
/// padded pairs plus rows of a `PackedCsr`). Each of its multiply-adds loads x through an
/// index, many times a dense one's cost, so splitting pays much sooner. In
/// `examples/thread_scaling` (4096² bf16 pruned per row, from DRAM), SpMV on all threads
/// against one: at 95 % sparsity (840 K nonzeros) 4.7-5.9x on a 16-core Intel Xeon (six
/// runs) and 1.45-1.69x on a 2-vCPU Zen 4 guest (three runs); at 99 % (168 K) 2.8-3.2x and
/// 1.60-1.79x; at 99.5 % (82 K) 1.8-2.1x and 1.29-1.41x. Under the dense threshold all three
/// stayed on one thread.
const SPMV_PARALLEL_MIN_WORK: usize = 1 << 16;

/// How many tasks `par` allows for `work` multiply-adds.
pub(crate) fn tasks(par: Par, work: usize) -> usize {
    tasks_above(par, work, PARALLEL_MIN_WORK)
}

/// How many tasks `par` allows a sparse matrix-vector product of `work` nonzeros plus rows.
pub(crate) fn spmv_tasks(par: Par, work: usize) -> usize {
    tasks_above(par, work, SPMV_PARALLEL_MIN_WORK)
}

/// How many tasks `par` allows for `work`, one below `min_work`.
fn tasks_above(par: Par, work: usize, min_work: usize) -> usize {
    if work < min_work {
        return 1;
    }
    match par {
        Par::Seq => 1,
        #[cfg(feature = "rayon")]
        Par::Rayon(0) => rayon::current_num_threads(),
        #[cfg(feature = "rayon")]
        Par::Rayon(n) => n,
        #[cfg(not(feature = "rayon"))]
        Par::Rayon(_) => 1,
    }
}

/// Splits `y` into `tasks` contiguous ranges on the current rayon pool.
#[cfg(feature = "rayon")]
pub(super) fn run_parallel(y: &mut [f32], tasks: usize, rows: &(dyn Fn(usize, &mut [f32]) + Sync)) {
    use rayon::prelude::*;
    let chunk = y.len().div_ceil(tasks).max(1);
    y.par_chunks_mut(chunk)
        .enumerate()
        .for_each(|(c, ys)| rows(c * chunk, ys));
}

#[cfg(not(feature = "rayon"))]
pub(super) fn run_parallel(y: &mut [f32], _tasks: usize, rows: &dyn Fn(usize, &mut [f32])) {
    rows(0, y);
}

/// Runs `task` on each item, on the current rayon pool when there is more than one.
#[cfg(feature = "rayon")]
pub(crate) fn for_each_task<T: Send>(items: Vec<T>, task: impl Fn(T) + Sync + Send) {
    use rayon::prelude::*;
    if items.len() <= 1 {
        items.into_iter().for_each(task);
    } else {
        items.into_par_iter().for_each(task);
    }
}

#[cfg(not(feature = "rayon"))]
pub(crate) fn for_each_task<T: Send>(items: Vec<T>, task: impl Fn(T) + Sync + Send) {
    items.into_iter().for_each(task);
}
