//! Per-thread scratch floats for the kernels' drivers (GEMM's packed A and accumulator
//! tiles, SpMM's row of sums), so that steady-state calls do not allocate.

use core::cell::Cell;

thread_local! {
    static WORKSPACE: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` on `len` floats of this thread's workspace (contents unspecified). The buffer
/// grows to the largest `len` a thread has asked for and stays; a nested call (none today)
/// would find it taken and allocate its own.
pub(crate) fn with_workspace<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    WORKSPACE.with(|cell| {
        let mut buf = cell.take();
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        let result = f(&mut buf[..len]);
        cell.set(buf);
        result
    })
}
