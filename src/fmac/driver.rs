//! The GEMM driver: cache blocking, packing of A, the thread split and the alpha/beta epilogue
//! around a backend's micro-kernel. Safe, generic code shared by every tier.
//!
//! Loop order per task: rows `ic` of `MC` (A's row block packed once, all of `k`), columns
//! `jc` of `NC`, depth `pc` of `KC`, B panels `jp`, A panels `ip`. The packed A block
//! (`MC × KC` f32) and the `MC × NC` accumulators stay in L2 and are reused by every B panel,
//! each B micro-panel (`KC × nr`, L1-sized) by every A panel. The micro-kernel carries its
//! accumulators through `acc` between depth blocks, so every output element is one f32
//! accumulation in `k` order, whatever the blocking or the thread split: the same bits for
//! any of them. (A tier's bf16 hardware kernel, `GemmKernels::bf16_bf16`, runs per panel of A
//! with no subnormal value, or on two such panels at once with the same bits per element;
//! panels never move with the split, so that holds for it too.)

use half::bf16;

use super::gemm::{scale_add, scale_add_row, Output};
use super::packed::{micro_panel_offset, Panels, KC};
use super::par::{for_each_task, same_type};
use super::workspace::with_workspace;
use super::{Input, MatMut, MatRef, RowsMut};
use crate::backend::{APanel, MicroKernel};
use crate::{Backend, DType};

/// Rows of A packed at once (a multiple of every tier's `mr`: 4, 6, 8, 12).
const MC: usize = 72;
/// The largest `mr` of any tier (`pack_a`'s and `pair_rows`' scratch; a larger one panics
/// there, in every GEMM test of its tier).
const MR_MAX: usize = 12;
/// Columns of C accumulated at once: `MC × NC` f32 accumulators stay in L2 beside packed A.
const NC: usize = 512;

/// `C = alpha·A·B + beta·C` with B already packed for `backend` (the caller checked shapes
/// and the layout); `b_normal`: no value of B is subnormal.
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm<A: Input, C: Output>(
    backend: Backend,
    alpha: f32,
    a: MatRef<'_, A>,
    panels: &Panels,
    b_normal: bool,
    beta: f32,
    c: MatMut<'_, C>,
    tasks: usize,
) {
    let g = &backend.kernels.gemm;
    let layout = "pack_b chose this panel type for this backend";
    match panels {
        Panels::F32(p) => Driver::new(backend, g.f32, p, a, alpha, beta).run(c, tasks),
        Panels::Bf16(p) => {
            // The hardware bf16 kernel flushes subnormal inputs: B must have none (A's panels
            // are checked as they are packed).
            let hardware = backend
                .hardware_bf16_gemm()
                .filter(|_| A::DTYPE == DType::BF16 && b_normal);
            let mut driver = Driver::new(backend, g.bf16.expect(layout), p, a, alpha, beta);
            if let Some(kernel) = hardware {
                driver.hardware = Some(kernel);
                driver.hardware_x2 = g.bf16_bf16_x2;
            }
            driver.run(c, tasks)
        }
        Panels::F16(p) => {
            Driver::new(backend, g.f16.expect(layout), p, a, alpha, beta).run(c, tasks)
        }
    }
}

/// The f32 workspace of a task of `rows` rows of C and `panels` panels of B with depth `k`:
/// packed A (up to `MC` rows, all of `k`), then the accumulator tiles (up to `NC` columns).
pub(super) fn task_workspace(
    mr: usize,
    nr: usize,
    rows: usize,
    panels: usize,
    k: usize,
) -> [usize; 2] {
    let mc_max = MC.min(rows.next_multiple_of(mr));
    let nc_panels = (NC / nr).max(1);
    // Packed A rounded up to a cache line (16 f32), so the accumulators start on one too.
    [
        (mc_max * k).next_multiple_of(16),
        mc_max * nc_panels.min(panels) * nr,
    ]
}

/// One GEMM call's read-only state, shared by its tasks.
struct Driver<'a, A, B> {
    /// The tier, whose kernels widen A as it is packed and round C's rows.
    backend: Backend,
    kernel: MicroKernel<B>,
    /// The tier's bf16 × bf16 hardware kernel, for A panels with no subnormal value (see
    /// `GemmKernels::bf16_bf16`). Chosen per panel of `mr` rows, whose bounds are the same
    /// for any thread split, so the bits still do not depend on it.
    hardware: Option<MicroKernel<B>>,
    /// `hardware` for two consecutive panels (`GemmKernels::bf16_bf16_x2`), where both may
    /// take it: the same bits per element as `hardware` one panel at a time.
    hardware_x2: Option<MicroKernel<B>>,
    /// How `hardware` reads its A panels (`GemmKernels::bf16_bf16_a`).
    hardware_a: APanel,
    /// Run once a task is done when `hardware` is set (`GemmKernels::bf16_bf16_done`).
    hardware_done: Option<unsafe fn()>,
    mr: usize,
    nr: usize,
    panels: &'a [B],
    a: MatRef<'a, A>,
    alpha: f32,
    beta: f32,
}

/// A task's share of C: rows from `row0` and B panels `[p0, p1)`, and where they are stored.
struct Task<'c, C> {
    row0: usize,
    p0: usize,
    p1: usize,
    out: RowsMut<'c, C>,
}

impl<'a, A: Input, B: Copy + Sync> Driver<'a, A, B> {
    fn new(
        backend: Backend,
        kernel: MicroKernel<B>,
        panels: &'a [B],
        a: MatRef<'a, A>,
        alpha: f32,
        beta: f32,
    ) -> Self {
        let g = &backend.kernels.gemm;
        Driver {
            backend,
            kernel,
            hardware: None,
            hardware_x2: None,
            hardware_a: g.bf16_bf16_a,
            hardware_done: g.bf16_bf16_done,
            mr: g.mr,
            nr: g.nr,
            panels,
            a,
            alpha,
            beta,
        }
    }

    fn run<C: Output>(&self, c: MatMut<'_, C>, tasks: usize) {
        if tasks <= 1 || c.rows() == 0 || c.cols() == 0 {
            // One task, run here: no split, so a steady-state call allocates nothing.
            let p1 = c.cols().div_ceil(self.nr);
            return self.task(Task {
                row0: 0,
                p0: 0,
                p1,
                out: RowsMut::Block(c),
            });
        }
        let split = self.split(c, tasks);
        for_each_task(split, |task| self.task(task));
    }

    /// Splits a non-empty C into at most `tasks` pieces: by rows when there are enough of them
    /// to keep every task's packed A busy, else by column panels (small batches, wide layers).
    fn split<'c, C: Output>(&self, c: MatMut<'c, C>, tasks: usize) -> Vec<Task<'c, C>> {
        let (m, n) = (c.rows(), c.cols());
        let panels = n.div_ceil(self.nr);
        if m >= tasks * MC || panels < tasks {
            let chunk = m.div_ceil(tasks).next_multiple_of(self.mr);
            let mut rest = c;
            let mut out = Vec::with_capacity(tasks);
            let mut row0 = 0;
            while row0 < m {
                let rows = chunk.min(m - row0);
                let (block, tail) = rest.split_rows(rows);
                out.push(Task {
                    row0,
                    p0: 0,
                    p1: panels,
                    out: RowsMut::Block(block),
                });
                rest = tail;
                row0 += rows;
            }
            out
        } else {
            let chunk = panels.div_ceil(tasks);
            let starts: Vec<usize> = (0..panels).step_by(chunk).collect();
            let mut columns: Vec<Vec<&mut [C]>> = starts.iter().map(|_| Vec::new()).collect();
            for mut row in c.into_rows() {
                for (t, &p0) in starts.iter().enumerate() {
                    let width = ((p0 + chunk) * self.nr).min(n) - p0 * self.nr;
                    let (piece, tail) = row.split_at_mut(width);
                    columns[t].push(piece);
                    row = tail;
                }
            }
            starts
                .into_iter()
                .zip(columns)
                .map(|(p0, rows)| Task {
                    row0: 0,
                    p0,
                    p1: (p0 + chunk).min(panels),
                    out: RowsMut::Columns(rows),
                })
                .collect()
        }
    }

    fn task<C: Output>(&self, mut task: Task<'_, C>) {
        let (mr, nr) = (self.mr, self.nr);
        let k = self.a.cols();
        let rows = task.out.rows();
        let width = task.out.row_width();
        if rows == 0 || width == 0 {
            return;
        }
        if k == 0 {
            // An empty sum: every element of A·B is 0.
            for i in 0..rows {
                for c in task.out.row(i) {
                    scale_add(self.alpha, self.beta, 0.0, c);
                }
            }
            return;
        }
        let panels = task.p1 - task.p0;
        let padded_n = self.panels.len() / k;
        let [a_len, acc_len] = task_workspace(mr, nr, rows, panels, k);
        let nc_panels = (NC / nr).max(1);
        with_workspace(a_len + acc_len, |ws| {
            let (a_buf, acc_buf) = ws.split_at_mut(a_len);
            for ic in (0..rows).step_by(MC) {
                let mc = MC.min(rows - ic);
                let a_panels = mc.div_ceil(mr);
                // All of this row block's depth, packed once and reused by every column block.
                let mcp = a_panels * mr;
                let mut normal = [true; MC];
                let rows_as_pairs = self.rows_as_pairs();
                if rows_as_pairs {
                    self.check_bf16_rows(task.row0 + ic, mc, &mut normal[..a_panels]);
                }
                for pc in (0..k).step_by(KC) {
                    let kc = KC.min(k - pc);
                    let block = &mut a_buf[pc * mcp..][..mcp * kc];
                    if rows_as_pairs {
                        self.pack_a_pairs(task.row0 + ic, mc, pc, kc, block, &normal[..a_panels]);
                    } else {
                        self.pack_a(task.row0 + ic, mc, pc, kc, block, &mut normal[..a_panels]);
                    }
                }
                if self.hardware.is_some() && self.hardware_a != APanel::F32 && !rows_as_pairs {
                    // Only now is it known which panels the hardware kernel will run on.
                    for pc in (0..k).step_by(KC) {
                        let kc = KC.min(k - pc);
                        let block = &mut a_buf[pc * mcp..][..mcp * kc];
                        for (panel, _) in block
                            .chunks_exact_mut(mr * kc)
                            .zip(&normal[..a_panels])
                            .filter(|(_, &normal)| normal)
                        {
                            match self.hardware_a {
                                APanel::KPairs => pair_k_steps(panel, mr, kc),
                                _ => pair_rows(panel, mr, kc),
                            }
                        }
                    }
                }
                for jc in (0..panels).step_by(nc_panels) {
                    let jn = nc_panels.min(panels - jc);
                    for pc in (0..k).step_by(KC) {
                        let kc = KC.min(k - pc);
                        let last = pc + kc == k;
                        let a_block = &a_buf[pc * mcp..][..mcp * kc];
                        for jp in jc..jc + jn {
                            let at = micro_panel_offset(padded_n, nr, task.p0 + jp, pc, kc);
                            let b = &self.panels[at..][..kc * nr];
                            let mut ip = 0;
                            while ip < a_panels {
                                let (kernel, count) = self.kernel_at(ip, &normal[..a_panels]);
                                let a = &a_block[ip * mr * kc..][..count * mr * kc];
                                let tile = (jp - jc) * a_panels + ip;
                                let acc = &mut acc_buf[tile * mr * nr..][..count * mr * nr];
                                // SAFETY: the kernel belongs to the backend this driver was built
                                // from, which exists only if the CPU supports its tier; the slices
                                // have the lengths the kernel needs (it checks them too).
                                unsafe { kernel(kc, a, b, acc, pc > 0) };
                                if last {
                                    let cols = nr.min(width - jp * nr);
                                    let first_row = ic + ip * mr;
                                    for r in 0..(count * mr).min(rows - first_row) {
                                        let out =
                                            &mut task.out.row(first_row + r)[jp * nr..][..cols];
                                        self.store(&acc[r * nr..][..cols], out);
                                    }
                                }
                                ip += count;
                            }
                        }
                    }
                }
            }
        });
        if let (Some(_), Some(done)) = (self.hardware, self.hardware_done) {
            // SAFETY: the hook belongs to the backend this driver was built from, whose tier
            // the CPU supports (its one precondition).
            unsafe { done() };
        }
    }

    /// The kernel for A panel `ip` of a row block whose panels' `normal` flags are given, and
    /// how many panels it takes from `ip` on: the hardware kernel where the panel has no
    /// subnormal value (for two panels where both have none and the tier has that kernel),
    /// else the tier's f32-chain kernel.
    fn kernel_at(&self, ip: usize, normal: &[bool]) -> (MicroKernel<B>, usize) {
        match (self.hardware, self.hardware_x2) {
            (Some(_), Some(x2)) if normal[ip] && normal.get(ip + 1) == Some(&true) => (x2, 2),
            (Some(hardware), _) if normal[ip] => (hardware, 1),
            _ => (self.kernel, 1),
        }
    }

    /// Whether the hardware kernel's A panels come straight from A's rows: row-major k-pairs
    /// (`APanel::RowPairs`) are a bf16 row's own bits, read as 32-bit words.
    fn rows_as_pairs(&self) -> bool {
        self.hardware.is_some()
            && self.hardware_a == APanel::RowPairs
            && A::DTYPE == DType::BF16
            && self.a.rows_are_contiguous()
    }

    /// Clears `normal[ip]` where panel `ip` of rows `[row0, row0 + mc)` (all of k) holds a
    /// subnormal bf16 value. Only for [`Driver::rows_as_pairs`].
    fn check_bf16_rows(&self, row0: usize, mc: usize, normal: &mut [bool]) {
        for row in 0..mc {
            let values: &[bf16] = same_type(self.a.row(row0 + row));
            let subnormal = values.iter().fold(false, |any, v| {
                let bits = v.to_bits();
                any | (bits & 0x7f80 == 0 && bits & 0x7f != 0)
            });
            if subnormal {
                normal[row / self.mr] = false;
            }
        }
    }

    /// [`Driver::pack_a`] where A's rows are the hardware kernel's pairs: panels flagged
    /// `normal` are copied as row-major k-pairs (rows `APanel::row_words(kc)` words apart,
    /// zero rows past `mc`); the others are packed as f32 for the FMA kernel.
    fn pack_a_pairs(
        &self,
        row0: usize,
        mc: usize,
        pc: usize,
        kc: usize,
        buf: &mut [f32],
        normal: &[bool],
    ) {
        let mr = self.mr;
        let (pairs, stride) = (kc.div_ceil(2), APanel::row_words(kc));
        for (ip, panel) in buf.chunks_exact_mut(mr * kc).enumerate() {
            if !normal[ip] {
                let mut unused = [true];
                self.pack_a(
                    row0 + ip * mr,
                    mc.saturating_sub(ip * mr),
                    pc,
                    kc,
                    panel,
                    &mut unused,
                );
                continue;
            }
            for i in 0..mr {
                let words = &mut panel[i * stride..][..pairs];
                let row = ip * mr + i;
                if row >= mc {
                    words.fill(0.0);
                    continue;
                }
                let values: &[bf16] = same_type(&self.a.row(row0 + row)[pc..][..kc]);
                let halves: &mut [bf16] = bytemuck::cast_slice_mut(words);
                halves[..kc].copy_from_slice(values);
                halves[kc..].fill(bf16::ZERO);
            }
        }
    }

    /// Rows `[row0, row0 + mc)`, depth `[pc, pc + kc)` of A as f32 panels of `mr` rows,
    /// `kc`-major (`panel[p*mr + i]`), zero rows past `mc`; clears `normal[ip]` when panel
    /// `ip` holds a subnormal value (checked only where a hardware kernel could run).
    fn pack_a(
        &self,
        row0: usize,
        mc: usize,
        pc: usize,
        kc: usize,
        buf: &mut [f32],
        normal: &mut [bool],
    ) {
        let mr = self.mr;
        let check = self.hardware.is_some();
        // The panel's rows widened (vectorized), then interleaved with sequential stores.
        let mut rows = [0f32; MR_MAX * KC];
        let rows = &mut rows[..mr * kc];
        for (ip, panel) in buf.chunks_exact_mut(mr * kc).enumerate() {
            for (i, widened) in rows.chunks_exact_mut(kc).enumerate() {
                let row = ip * mr + i;
                if row >= mc {
                    widened.fill(0.0);
                } else if self.a.rows_are_contiguous() {
                    self.widen(&self.a.row(row0 + row)[pc..][..kc], widened);
                } else {
                    for (p, v) in widened.iter_mut().enumerate() {
                        *v = self.a.get(row0 + row, pc + p).into();
                    }
                }
            }
            match mr {
                4 => interleave::<4>(rows, kc, panel),
                6 => interleave::<6>(rows, kc, panel),
                8 => interleave::<8>(rows, kc, panel),
                12 => interleave::<12>(rows, kc, panel),
                _ => interleave_any(rows, mr, kc, panel),
            }
            if check && panel.iter().any(|v| v.is_subnormal()) {
                normal[ip] = false;
            }
        }
    }

    /// `dst = src` widened to f32 by the tier's conversion kernel (exact, as `into()`).
    fn widen(&self, src: &[A], dst: &mut [f32]) {
        debug_assert_eq!(src.len(), dst.len());
        match A::DTYPE {
            DType::F32 => dst.copy_from_slice(same_type(src)),
            // SAFETY: the kernel table belongs to the backend this driver was built from,
            // which exists only if the CPU supports its tier; `same_type` casts to A's type.
            DType::BF16 => unsafe { (self.backend.kernels.bf16_to_f32)(same_type(src), dst) },
            // SAFETY: as above.
            DType::F16 => unsafe { (self.backend.kernels.f16_to_f32)(same_type(src), dst) },
        }
    }

    /// `out = alpha·acc + beta·out`, rounded to C's type; `out` is not read when `beta == 0`.
    fn store<C: Output>(&self, acc: &[f32], out: &mut [C]) {
        scale_add_row(self.backend, self.alpha, self.beta, acc, out);
    }
}

/// `panel[p*MR + i] = rows[i*kc + p]`: `MR` rows of `kc` values, interleaved step by step.
fn interleave<const MR: usize>(rows: &[f32], kc: usize, panel: &mut [f32]) {
    let rows: [&[f32]; MR] = core::array::from_fn(|i| &rows[i * kc..][..kc]);
    for (p, step) in panel.chunks_exact_mut(MR).enumerate() {
        let step: &mut [f32; MR] = step.try_into().expect("chunks of MR");
        for (v, row) in step.iter_mut().zip(&rows) {
            *v = row[p];
        }
    }
}

/// [`interleave`] for an `mr` known only at run time.
fn interleave_any(rows: &[f32], mr: usize, kc: usize, panel: &mut [f32]) {
    for (p, step) in panel.chunks_exact_mut(mr).enumerate() {
        for (i, v) in step.iter_mut().enumerate() {
            *v = rows[i * kc + p];
        }
    }
}

/// Word `q` of row `i` of an f32 panel of A (`panel[p*mr + i]`, bf16 values) in k-pairs:
/// the bf16 bits of step `2q` in its low half and of step `2q + 1` in its high half (zero for
/// an odd `kc`'s last step).
fn pair_word(panel: &[f32], mr: usize, kc: usize, i: usize, q: usize) -> f32 {
    let low = panel[2 * q * mr + i].to_bits() >> 16;
    let high = if 2 * q + 1 < kc {
        panel[(2 * q + 1) * mr + i].to_bits() & 0xffff_0000
    } else {
        0
    };
    f32::from_bits(high | low)
}

/// Rewrites an f32 panel of A in place as k-pairs, step-major (`APanel::KPairs`): word
/// `q*mr + i` is written after both its sources (`2q*mr + i`, `(2q + 1)*mr + i`, never before
/// it) are read, so nothing is lost.
fn pair_k_steps(panel: &mut [f32], mr: usize, kc: usize) {
    for q in 0..kc.div_ceil(2) {
        for i in 0..mr {
            panel[q * mr + i] = pair_word(panel, mr, kc, i, q);
        }
    }
}

/// Rewrites an f32 panel of A as k-pairs, row-major (`APanel::RowPairs`): word
/// `i*row_words(kc) + q`, read from a copy (a row's words overwrite other rows' sources).
fn pair_rows(panel: &mut [f32], mr: usize, kc: usize) {
    let mut copy = [0f32; MR_MAX * KC];
    let copy = &mut copy[..mr * kc];
    copy.copy_from_slice(&panel[..mr * kc]);
    let stride = APanel::row_words(kc);
    for i in 0..mr {
        for q in 0..kc.div_ceil(2) {
            panel[i * stride + q] = pair_word(copy, mr, kc, i, q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{interleave, interleave_any};

    #[test]
    fn interleave_puts_row_i_step_p_at_p_mr_plus_i() {
        let kc = 5;
        for mr in [4, 6, 8, 12] {
            let rows: Vec<f32> = (0..mr * kc).map(|v| v as f32).collect();
            let mut want = vec![0.0; mr * kc];
            interleave_any(&rows, mr, kc, &mut want);
            for p in 0..kc {
                for i in 0..mr {
                    assert_eq!(want[p * mr + i], rows[i * kc + p]);
                }
            }
            let mut got = vec![-1.0; mr * kc];
            match mr {
                4 => interleave::<4>(&rows, kc, &mut got),
                6 => interleave::<6>(&rows, kc, &mut got),
                8 => interleave::<8>(&rows, kc, &mut got),
                _ => interleave::<12>(&rows, kc, &mut got),
            }
            assert_eq!(got, want, "mr = {mr}");
        }
    }
}
