//! Per-thread scratch floats for the kernels' drivers (GEMM's packed A and accumulator
//! tiles, SpMM's row of sums), so that steady-state calls do not allocate.

use core::cell::Cell;

use crate::aligned::{view_mut, Line};

thread_local! {
    static WORKSPACE: Cell<Vec<Line>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` on `len` floats of this thread's workspace (contents unspecified), starting on a
/// cache line. The buffer grows to the largest `len` a thread has asked for and stays; a
/// nested call (none today) would find it taken and allocate its own.
pub(crate) fn with_workspace<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    WORKSPACE.with(|cell| {
        let mut buf = cell.take();
        let lines = bytes_for(len) / size_of::<Line>();
        if buf.len() < lines {
            // Exactly what `len` needs: the size queries (`Backend::gemm_workspace_bytes`,
            // ...) are what a thread holds, not a doubling of it.
            buf.reserve_exact(lines - buf.len());
            buf.resize(lines, Line::ZERO);
        }
        let result = f(view_mut(&mut buf, len));
        cell.set(buf);
        result
    })
}

/// The bytes a workspace of `len` floats holds: whole cache lines.
pub(crate) fn bytes_for(len: usize) -> usize {
    (len * size_of::<f32>()).next_multiple_of(size_of::<Line>())
}

/// Bytes of workspace the calling thread holds: the most any of its calls of `gemm`,
/// `gemm_packed`, `spmm` (with `beta != 0`) or `spmm_xt` has needed (see
/// [`Backend::gemm_workspace_bytes`](crate::Backend::gemm_workspace_bytes) and the sparse
/// products' queries), kept for the next call until [`release_thread_workspace`].
///
/// ```
/// use lowp::fmac::{release_thread_workspace, thread_workspace_bytes};
/// release_thread_workspace();
/// assert_eq!(thread_workspace_bytes(), 0);
/// ```
pub fn thread_workspace_bytes() -> usize {
    WORKSPACE.with(|cell| {
        let buf = cell.take();
        let bytes = buf.capacity() * size_of::<Line>();
        cell.set(buf);
        bytes
    })
}

/// Frees the calling thread's workspace; its next call that needs one allocates it again.
pub fn release_thread_workspace() {
    WORKSPACE.with(|cell| drop(cell.take()));
}
