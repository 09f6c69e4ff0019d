//! GEMV: `y = alpha·W·x + beta·y` with W `[n × k]` row-major (a linear layer's weights).

use super::gemm::scale_add;
use super::par::{run_parallel, same_type, tasks, Par};
use super::{Input, MatRef};
use crate::error::check_len;
use crate::{Backend, DType, Error};

/// From this many bytes of W, GEMV walks it one row at a time instead of in row pairs: W then
/// comes from memory, and one sequential stream (each kernel prefetching ahead in its row,
/// into the next) reads it faster than two interleaved ones, even though every row reloads x
/// from L1. On Zen 5, 4096×4096 bf16 cycled from DRAM, the two orders run alternately in one
/// probe read W at 0.74–0.87 of a plain read in pairs and 1.07–1.10 one row at a time. Below
/// it W may be cached, and sharing each load of x between two rows wins (0.83 vs 0.70 of a
/// read, L2-resident, same probe).
const ONE_STREAM_BYTES: usize = 16 << 20;

/// `y = alpha·W·x + beta·y` on [`Backend::active`]; see [`Backend::gemv`].
///
/// # Errors
/// As [`Backend::gemv`].
pub fn gemv<W: Input>(
    alpha: f32,
    w: MatRef<'_, W>,
    x: &[f32],
    beta: f32,
    y: &mut [f32],
    par: Par,
) -> Result<(), Error> {
    Backend::active().gemv(alpha, w, x, beta, y, par)
}

impl Backend {
    /// `y = alpha·W·x + beta·y` for weights `W` (`[n × k]`, row-major, f32/bf16/f16) and f32
    /// `x` (`k`) and `y` (`n`). Each `yᵢ` is `alpha · dot(Wᵢ, x)` (f32 accumulation, within
    /// `k·u·Σ|wᵢⱼxⱼ|` of exact) plus `beta · yᵢ`, each step rounded to nearest. With
    /// `beta == 0`, `y` is not read: NaNs already in it do not leak.
    ///
    /// ```
    /// use half::bf16;
    /// use lowp::fmac::{gemv, MatRef, Par};
    /// let w: Vec<bf16> = (0..6).map(|v| bf16::from_f32(v as f32)).collect(); // [[0,1,2],[3,4,5]]
    /// let mut y = [f32::NAN; 2];
    /// gemv(1.0, MatRef::new(&w, 2, 3)?, &[1.0, 1.0, 1.0], 0.0, &mut y, Par::Seq)?;
    /// assert_eq!(y, [3.0, 12.0]);
    /// # Ok::<(), lowp::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `x.len() != w.cols()` or `y.len() != w.rows()`;
    /// [`Error::Shape`] when W's rows are not contiguous (`col_stride != 1`).
    pub fn gemv<W: Input>(
        self,
        alpha: f32,
        w: MatRef<'_, W>,
        x: &[f32],
        beta: f32,
        y: &mut [f32],
        par: Par,
    ) -> Result<(), Error> {
        if !w.rows_are_contiguous() {
            return Err(Error::Shape {
                shape: vec![w.rows(), w.cols(), w.row_stride(), w.col_stride()],
                reason: "GEMV streams rows: W's column stride must be 1",
            });
        }
        check_len("x", w.cols(), x.len())?;
        check_len("y", w.rows(), y.len())?;
        // Row pairs share their loads of x; each row's result has the same bits as alone, so
        // how rows pair up (it depends on the thread split) does not change anything.
        let pair = |i: usize| -> [f32; 2] {
            // Each row runs on to W's end, which bounds the kernels' prefetch (a row's first
            // `cols` elements are multiplied, as x holds `cols`).
            let (r0, r1) = (w.row_onward(i), w.row_onward(i + 1));
            // SAFETY (all arms): `self` exists only if the CPU supports `self.isa()`, the one
            // precondition of its kernel table.
            match W::DTYPE {
                DType::F32 => unsafe { (self.kernels.dot2_f32)(x, same_type(r0), same_type(r1)) },
                DType::BF16 => unsafe {
                    (self.kernels.dot2_f32_bf16)(x, same_type(r0), same_type(r1))
                },
                DType::F16 => unsafe {
                    (self.kernels.dot2_f32_f16)(x, same_type(r0), same_type(r1))
                },
            }
        };
        let single = |i: usize| -> f32 {
            let r = w.row_onward(i);
            // SAFETY: as above.
            match W::DTYPE {
                DType::F32 => unsafe { (self.kernels.row_f32)(x, same_type(r)) },
                DType::BF16 => unsafe { (self.kernels.row_f32_bf16)(x, same_type(r)) },
                DType::F16 => unsafe { (self.kernels.row_f32_f16)(x, same_type(r)) },
            }
        };
        let finish = |d: f32, y: &mut f32| scale_add(alpha, beta, d, y);
        let one_stream = w.rows() * w.cols() * size_of::<W>() >= ONE_STREAM_BYTES;
        let rows = |first: usize, ys: &mut [f32]| {
            if one_stream {
                for (i, y) in ys.iter_mut().enumerate() {
                    finish(single(first + i), y);
                }
                return;
            }
            let done = ys.len() / 2 * 2;
            let mut pairs = ys.chunks_exact_mut(2);
            for (p, ys) in (&mut pairs).enumerate() {
                let d = pair(first + 2 * p);
                finish(d[0], &mut ys[0]);
                finish(d[1], &mut ys[1]);
            }
            if let [y] = pairs.into_remainder() {
                finish(single(first + done), y);
            }
        };
        let tasks = tasks(par, w.rows() * w.cols());
        if tasks <= 1 {
            rows(0, y);
        } else {
            run_parallel(y, tasks, &rows);
        }
        Ok(())
    }
}
