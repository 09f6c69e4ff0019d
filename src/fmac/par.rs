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

/// How many tasks `par` allows for `work` multiply-adds.
pub(crate) fn tasks(par: Par, work: usize) -> usize {
    if work < PARALLEL_MIN_WORK {
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
