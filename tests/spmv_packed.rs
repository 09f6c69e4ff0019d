//! `spmv_packed`: every backend gives the bits of row-by-row fused multiply-adds over the CSR
//! it was packed from (the oracle below) in the `Gather` and `Windowed` layouts, and in
//! `Hybrid` the scalar backend's bits (a row's windowed entries, then its gathered ones),
//! within the dot bound of the CSR's; for every row length 0..=90 in every lane of a chunk,
//! f32/bf16/f16 values, alpha/beta, any thread count, x at any alignment; the padding is
//! never read from x, nor anything outside x; bad lengths are typed errors.

mod common;

use common::{backends, Rng};
use half::{bf16, f16};
use lowp::fmac::{Input, Par};
use lowp::sparse::{Csr, PackedCsr, PackedLayout};
use lowp::{Backend, DType, Error, Isa};

/// `v` as f32 (exact), by `half`'s software conversion for f16: its F16C one is an instruction
/// Miri cannot run.
fn widen<T: Input>(v: T) -> f32 {
    match T::DTYPE {
        DType::F16 => bytemuck::cast::<T, f16>(v).to_f32_const(),
        _ => v.into(),
    }
}

/// Row `i` of `a` times `x`, one fused multiply-add per stored entry in storage order from +0.
fn oracle<T: Input>(a: &Csr<T>, x: &[f32]) -> Vec<f32> {
    capped_oracle(a, x, usize::MAX)
}

/// As [`oracle`], in `Hybrid`'s order for windows capped at `cap` steps: first each row's
/// entries ranked below `cap` in their window of 31 columns, then the others.
fn capped_oracle<T: Input>(a: &Csr<T>, x: &[f32], cap: usize) -> Vec<f32> {
    let v = a.view();
    (0..v.rows())
        .map(|i| {
            let (idx, vals) = v.slice(i);
            let rank = |p: usize| (0..p).filter(|&q| idx[q] / 31 == idx[p] / 31).count();
            let (windowed, gathered): (Vec<usize>, Vec<usize>) =
                (0..idx.len()).partition(|&p| rank(p) < cap);
            windowed
                .iter()
                .chain(&gathered)
                .fold(0.0, |s, &p| widen(vals[p]).mul_add(x[idx[p] as usize], s))
        })
        .collect()
}

/// Whether every `y[i]` is within the dot bound of row `i`'s exact product with `x`:
/// `n·u·Σ|aᵢⱼxⱼ| + n·2^-149`, `u = 2^-24`.
fn within_bound<T: Input>(a: &Csr<T>, x: &[f32], y: &[f32]) -> bool {
    let v = a.view();
    (0..v.rows()).all(|i| {
        let (idx, vals) = v.slice(i);
        let terms = idx
            .iter()
            .zip(vals)
            .map(|(&j, &w)| f64::from(widen(w)) * f64::from(x[j as usize]));
        let (exact, magnitude) = terms.fold((0.0, 0.0), |(s, m), t| (s + t, m + t.abs()));
        let n = idx.len() as f64;
        (f64::from(y[i]) - exact).abs() <= n * (magnitude * 2f64.powi(-24) + 2f64.powi(-149))
    })
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// `rows` rows whose lengths run through 0..=90 in a shuffled order (so every lane of a chunk
/// sees short and long rows), never using the columns `unused` picks.
fn matrix<T: Input>(
    rng: &mut Rng,
    rows: usize,
    cols: usize,
    unused: fn(u32) -> bool,
    value: impl Fn(f32) -> T,
) -> Csr<T> {
    let (mut indptr, mut indices, mut values) = (vec![0], Vec::new(), Vec::new());
    for r in 0..rows {
        let len = (r * 37 + rng.next_u32() as usize % 3) % 91;
        let mut cols_left: Vec<u32> = (0..cols as u32).filter(|&j| !unused(j)).collect();
        for _ in 0..len.min(cols_left.len()) {
            let at = rng.next_u32() as usize % cols_left.len();
            indices.push(cols_left.swap_remove(at));
        }
        let start = *indptr.last().unwrap();
        indices[start..].sort_unstable();
        for _ in start..indices.len() {
            values.push(value((rng.next_u32() % 4001) as f32 / 1000.0 - 2.0));
        }
        indptr.push(indices.len());
    }
    Csr::try_new(rows, cols, indptr, indices, values).unwrap()
}

/// Three chunks that `Hybrid` packs three ways whatever a gathered step costs against a
/// windowed one (between 1 and 16), and an x for them (NaN at column 0, which no row uses):
/// 16 rows on columns 1..=31 (31 windowed steps, or 31 gathered: all windowed); row `16 + i`
/// on four columns of window `i` (64 windowed steps, or 4 gathered: all gathered); row
/// `32 + i` on five columns of window `i` and the last column of every other (windows capped
/// at one entry, 16 steps, and 4 gathered, against 80 windowed or 20 gathered).
fn mixed_chunks(rng: &mut Rng) -> (Csr<f32>, Vec<f32>) {
    let cols = 16 * 31;
    let (mut indptr, mut indices) = (vec![0], Vec::new());
    for row in 0..48u32 {
        let lane = row % 16;
        match row {
            0..16 => indices.extend(1..=31),
            16..32 => indices.extend((1..=4).map(|j| 31 * lane + j)),
            _ => {
                for w in 0..16 {
                    match w == lane {
                        true => indices.extend((1..=5).map(|j| 31 * w + j)),
                        false => indices.push(31 * w + 30),
                    }
                }
            }
        }
        indptr.push(indices.len());
    }
    let values = (0..indices.len())
        .map(|_| (rng.next_u32() % 4001) as f32 / 1000.0 - 2.0)
        .collect();
    let mut x: Vec<f32> = (0..cols)
        .map(|_| (rng.next_u32() % 20001) as f32 / 7000.0 - 1.4)
        .collect();
    x[0] = f32::NAN;
    (Csr::try_new(48, cols, indptr, indices, values).unwrap(), x)
}

const LAYOUTS: [PackedLayout; 3] = [
    PackedLayout::Gather,
    PackedLayout::Windowed,
    PackedLayout::Hybrid,
];

/// A gathered step's cost above 1, at which `Hybrid` mixes the two kinds of step where that
/// pays (`Avx2`'s until session 39). This CPU's own may gather everything: below 1 it does.
const MIXING_COST: f64 = 1.35;

/// Checks every layout, and `Hybrid` at [`MIXING_COST`]; returns whether that one mixed
/// windowed and gathered steps.
fn check_all_backends<T: Input + PartialEq>(a: &Csr<T>, x: &[f32], what: &str) -> bool {
    let auto = PackedCsr::pack(a.view());
    assert!(
        auto == PackedCsr::pack_with(a.view(), auto.layout()),
        "{what}"
    );
    let here = PackedCsr::<T>::gathered_step_cost();
    assert!(auto == PackedCsr::pack_hybrid(a.view(), here), "{what}");
    for layout in LAYOUTS {
        check_layout(a, PackedCsr::pack_with(a.view(), layout), x, what);
    }
    let mixing = PackedCsr::pack_hybrid(a.view(), MIXING_COST);
    let mixed = mixing.layout() == PackedLayout::Hybrid;
    check_layout(a, mixing, x, what);
    mixed
}

/// The bits every backend must give for `packed`: the CSR's order unless `Hybrid`, where
/// the scalar backend is the oracle, itself checked against the bound.
fn expected<T: Input>(a: &Csr<T>, packed: &PackedCsr<T>, x: &[f32]) -> Vec<f32> {
    if packed.layout() != PackedLayout::Hybrid {
        return oracle(a, x);
    }
    let mut y = vec![0.0; a.rows()];
    Backend::new(Isa::Scalar)
        .unwrap()
        .spmv_packed(1.0, packed, x, 0.0, &mut y, Par::Seq)
        .unwrap();
    assert!(within_bound(a, x, &y), "Hybrid's scalar sums");
    y
}

fn check_layout<T: Input>(a: &Csr<T>, packed: PackedCsr<T>, x: &[f32], what: &str) {
    let want = expected(a, &packed, x);
    assert_eq!((packed.rows(), packed.cols()), (a.rows(), a.cols()));
    assert_eq!(packed.nnz(), a.view().nnz());
    assert!(packed.padded_len() >= packed.nnz());
    let what = format!("{what}, {:?}", packed.layout());
    for be in backends() {
        let mut y = vec![f32::NAN; a.rows()]; // beta = 0 must not read it
        be.spmv_packed(1.0, &packed, x, 0.0, &mut y, Par::Seq)
            .unwrap();
        assert_eq!(bits(&y), bits(&want), "{be:?} {what}");
        // alpha and beta: the epilogue of every product, `alpha·s + beta·y` each rounded.
        let mut y: Vec<f32> = (0..a.rows()).map(|i| i as f32 * 0.25 - 3.0).collect();
        let expected: Vec<f32> = want
            .iter()
            .zip(&y)
            .map(|(&s, &y)| -1.5 * s + 0.75 * y)
            .collect();
        be.spmv_packed(-1.5, &packed, x, 0.75, &mut y, Par::Seq)
            .unwrap();
        assert_eq!(bits(&y), bits(&expected), "{be:?} {what}, alpha/beta");
        // x at every 4-byte misalignment of a vector, between NaNs that a step taking a lane
        // from before x's start or past its end (a window's zero lane included) would add
        // to some row.
        for shift in 1..=3 {
            let mut fenced = vec![f32::NAN; shift + x.len() + 32];
            fenced[shift..][..x.len()].copy_from_slice(x);
            let mut y = vec![0.0; a.rows()];
            be.spmv_packed(
                1.0,
                &packed,
                &fenced[shift..][..x.len()],
                0.0,
                &mut y,
                Par::Seq,
            )
            .unwrap();
            assert_eq!(bits(&y), bits(&want), "{be:?} {what}, x shifted by {shift}");
        }
    }
}

fn none(_: u32) -> bool {
    false
}

fn zero(j: u32) -> bool {
    j == 0
}

#[test]
fn every_backend_gives_the_row_by_row_fma_bits() {
    let mut rng = Rng::new(81);
    // 203 rows: 12 whole chunks and a partial one (under Miri 19: one and a partial one); NaN
    // at column 0, which no row uses, so a padded lane (index 0) that read x would poison its
    // row.
    let rows = if cfg!(miri) { 19 } else { 203 };
    let cols = 150;
    let mut x: Vec<f32> = (0..cols)
        .map(|_| (rng.next_u32() % 20001) as f32 / 7000.0 - 1.4)
        .collect();
    x[0] = f32::NAN;
    check_all_backends(&matrix(&mut rng, rows, cols, zero, |v| v), &x, "f32");
    // Whether the random matrices mix the two kinds of step depends on the cost of a
    // gathered pair; this one mixes them at `MIXING_COST`.
    let (a, x_mixed) = mixed_chunks(&mut rng);
    // Steps of 16 pairs: 31 windowed; 4 gathered; 16 windowed (capped at one) and 4 gathered.
    let padded = PackedCsr::pack_hybrid(a.view(), MIXING_COST).padded_len();
    assert_eq!(
        padded,
        16 * (31 + 4 + 16 + 4),
        "mixed chunks packed otherwise"
    );
    assert!(
        check_all_backends(&a, &x_mixed, "f32, mixed chunks"),
        "one chunk windowed, one gathered"
    );
    check_all_backends(
        &matrix(&mut rng, rows, cols, zero, bf16::from_f32),
        &x,
        "bf16",
    );
    check_all_backends(
        &matrix(&mut rng, rows, cols, zero, f16::from_f32_const),
        &x,
        "f16",
    );
    // NaN at each window's first column (0, 31, 62, ...), which no row uses: a `Windowed`
    // padding lane (offset 31 of the window before) that read x there would poison its row.
    let mut x_windows = x.clone();
    for j in (0..cols).step_by(31) {
        x_windows[j] = f32::NAN;
    }
    let a = matrix(&mut rng, rows, cols, |j| j % 31 == 0, bf16::from_f32);
    check_all_backends(&a, &x_windows, "bf16, NaN at window starts");
    // Every column in use, and values whose products underflow to subnormals and zeros.
    x[0] = 1.0e-30;
    let tiny = matrix(&mut rng, rows.min(64), cols, none, |v| v * 1.0e-10);
    check_all_backends(&tiny, &x, "tiny f32");
}

#[test]
fn edge_shapes() {
    let mut rng = Rng::new(5);
    for (rows, cols) in [(0, 0), (0, 7), (7, 0), (1, 1), (16, 3), (17, 90), (33, 200)] {
        let a = matrix(&mut rng, rows, cols, none, bf16::from_f32);
        let x = vec![0.5f32; cols];
        check_all_backends(&a, &x, &format!("{rows}x{cols}"));
    }
    // Nothing stored: every sum is +0.
    let empty = Csr::<f32>::try_new(40, 9, vec![0; 41], vec![], vec![]).unwrap();
    for layout in LAYOUTS {
        let packed = PackedCsr::pack_with(empty.view(), layout);
        assert_eq!(packed.padded_len(), 0);
        for be in backends() {
            let mut y = vec![f32::NAN; 40];
            be.spmv_packed(1.0, &packed, &[1.0; 9], 0.0, &mut y, Par::Seq)
                .unwrap();
            assert_eq!(bits(&y), bits(&[0.0; 40]), "{be:?} {layout:?}");
        }
    }
}

#[test]
fn per_row_pruning_needs_no_padding() {
    let mut rng = Rng::new(9);
    let (rows, cols, len) = (100, 300, 41);
    let mut indptr = vec![0];
    let mut indices = Vec::new();
    for _ in 0..rows {
        let mut row: Vec<u32> = (0..cols as u32).collect();
        for i in 0..len {
            let j = i + rng.next_u32() as usize % (cols - i);
            row.swap(i, j);
        }
        let mut row = row[..len].to_vec();
        row.sort_unstable();
        indices.extend(row);
        indptr.push(indices.len());
    }
    let values = vec![bf16::ONE; indices.len()];
    let a = Csr::try_new(rows, cols, indptr, indices, values).unwrap();
    let packed = PackedCsr::pack_with(a.view(), PackedLayout::Gather);
    // 6 whole chunks of 41 steps, and the last (4 rows) padded to 16 lanes.
    assert_eq!(packed.padded_len(), 7 * 16 * len);
    assert!(packed.size_bytes() >= packed.padded_len() * 6);
}

#[test]
fn windowed_padding_follows_each_windows_longest_row() {
    // 16 rows: row r holds columns 0..=r (window 0) and 31..min(31 + 2r, 62) (window 1):
    // window 0 takes 16 steps (row 15's), window 1 takes 30 (row 15's).
    let rows = 16;
    let cols = 100;
    let (mut indptr, mut indices) = (vec![0], Vec::new());
    for r in 0..rows as u32 {
        indices.extend(0..=r);
        indices.extend(31..(31 + 2 * r).min(62));
        indptr.push(indices.len());
    }
    let values = vec![bf16::ONE; indices.len()];
    let a = Csr::try_new(rows, cols, indptr, indices, values).unwrap();
    let packed = PackedCsr::pack_with(a.view(), PackedLayout::Windowed);
    assert_eq!(packed.layout(), PackedLayout::Windowed);
    assert_eq!(packed.padded_len(), 16 * (16 + 30));
    // Pairs of 1 + 2 bytes, two windows of 8 bytes, the chunk's offsets of its pairs and
    // windows (16 bytes each: two offsets) and of its gathered pairs (16 bytes, 0 of them)
    // and its rows' gathered counts (64 bytes, all 0).
    assert_eq!(packed.windowed_len(), packed.padded_len());
    assert_eq!(packed.size_bytes(), 3 * 16 * 46 + 2 * 8 + 16 + 16 + 16 + 64);
    let x: Vec<f32> = (0..cols).map(|j| j as f32).collect();
    check_all_backends(&a, &x, "two windows");
}

#[test]
fn hybrid_windows_dense_rows_and_gathers_scattered_ones() {
    // Every column stored: no padding either way, and 1 byte of index beats 4 where a
    // gathered step costs more than a windowed one; where it costs less, gathering wins.
    let dense = Csr::try_new(
        16,
        62,
        (0..=16).map(|r| 62 * r).collect(),
        (0..16).flat_map(|_| 0..62).collect(),
        vec![1.0f32; 16 * 62],
    )
    .unwrap();
    let layout = |a: &Csr<f32>, cost| PackedCsr::pack_hybrid(a.view(), cost).layout();
    for cost in [MIXING_COST, 2.2, 3.0] {
        assert_eq!(layout(&dense, cost), PackedLayout::Windowed);
    }
    assert_eq!(layout(&dense, 0.8), PackedLayout::Gather);
    // One entry a row, each in its own window: Windowed pads every window to 16 lanes,
    // 16x Gather's pairs.
    let scattered = Csr::try_new(
        16,
        31 * 16,
        (0..=16).collect(),
        (0..16).map(|r| 31 * r).collect(),
        vec![1.0f32; 16],
    )
    .unwrap();
    for cost in [0.8, MIXING_COST, 2.2, 3.0] {
        assert_eq!(layout(&scattered, cost), PackedLayout::Gather);
    }
    assert_eq!(
        PackedCsr::pack_with(scattered.view(), PackedLayout::Windowed).padded_len(),
        16 * 16
    );
}

#[test]
fn hybrid_gathers_what_one_busy_row_would_pad() {
    // Row r holds 5 entries in window r and 1 in each other of the 16 windows. `Windowed`
    // takes 5 steps a window (80), `Gather` 20 gathered steps; capped at 1, 16 windowed
    // steps and 4 gathered ones, cheapest at any cost of a gathered step between 1 and 16
    // (capped at k: 16k windowed steps and 5 - k gathered).
    let (rows, cols) = (16, 31 * 16);
    let (mut indptr, mut indices) = (vec![0], Vec::new());
    for r in 0..rows as u32 {
        for w in 0..16 {
            let n = if w == r { 5 } else { 1 };
            indices.extend((0..n).map(|i| 31 * w + 3 * i + (r + w) % 16));
        }
        indptr.push(indices.len());
    }
    let mut rng = Rng::new(3);
    let values = (0..indices.len())
        .map(|_| bf16::from_f32((rng.next_u32() % 4001) as f32 / 1000.0 - 2.0))
        .collect();
    let a = Csr::try_new(rows, cols, indptr, indices, values).unwrap();
    let x: Vec<f32> = (0..cols)
        .map(|_| (rng.next_u32() % 20001) as f32 / 7000.0 - 1.4)
        .collect();
    let packed = PackedCsr::pack_hybrid(a.view(), MIXING_COST);
    assert_eq!(packed.layout(), PackedLayout::Hybrid);
    assert_eq!(packed.windowed_len(), 16 * 16);
    assert_eq!(packed.padded_len(), 16 * (16 + 4));
    for cost in [1.01, 2.2, 3.0, 15.9] {
        assert_eq!(PackedCsr::pack_hybrid(a.view(), cost), packed, "{cost}");
    }
    // Below 1 every entry is gathered, above 16 every window kept whole.
    let gathered = PackedCsr::pack_hybrid(a.view(), 0.99);
    assert_eq!(
        gathered,
        PackedCsr::pack_with(a.view(), PackedLayout::Gather)
    );
    let windowed = PackedCsr::pack_hybrid(a.view(), 16.1);
    assert_eq!(
        windowed,
        PackedCsr::pack_with(a.view(), PackedLayout::Windowed)
    );
    let want = bits(&capped_oracle(&a, &x, 1));
    assert_ne!(want, bits(&oracle(&a, &x)), "the order shows in the bits");
    for be in backends() {
        let mut y = vec![f32::NAN; rows];
        be.spmv_packed(1.0, &packed, &x, 0.0, &mut y, Par::Seq)
            .unwrap();
        assert_eq!(bits(&y), want, "{be:?}");
    }
}

#[cfg(feature = "rayon")] // Par::Rayon is Par::Seq without it
#[test]
fn the_same_bits_for_any_thread_count() {
    let mut rng = Rng::new(44);
    let (rows, cols) = (30_000, 2000);
    let a = matrix(&mut rng, rows, cols, none, bf16::from_f32);
    assert!(
        a.view().nnz() + rows > 1 << 16,
        "above the threading threshold"
    );
    let x: Vec<f32> = (0..cols).map(|j| (j % 23) as f32 * 0.1 - 1.0).collect();
    for layout in LAYOUTS {
        let packed = PackedCsr::pack_with(a.view(), layout);
        let want = bits(&expected(&a, &packed, &x));
        for be in backends() {
            for threads in [1, 2, 3, 7] {
                let mut y = vec![f32::NAN; rows];
                be.spmv_packed(1.0, &packed, &x, 0.0, &mut y, Par::Rayon(threads))
                    .unwrap();
                assert!(bits(&y) == want, "{be:?} {layout:?} on {threads} threads");
            }
        }
    }
}

#[test]
fn wrong_lengths_are_typed_errors() {
    let a = Csr::try_new(2, 3, vec![0, 1, 3], vec![2, 0, 1], vec![2.0f32, 1.0, -1.0]).unwrap();
    let packed = PackedCsr::pack(a.view());
    for be in backends() {
        let mut y = [0.0f32; 2];
        let e = be.spmv_packed(1.0, &packed, &[1.0; 2], 0.0, &mut y, Par::Seq);
        assert!(matches!(
            e,
            Err(Error::LengthMismatch {
                what: "x",
                expected: 3,
                actual: 2
            })
        ));
        let mut y = [0.0f32; 3];
        let e = be.spmv_packed(1.0, &packed, &[1.0; 3], 0.0, &mut y, Par::Seq);
        assert!(matches!(
            e,
            Err(Error::LengthMismatch {
                what: "y",
                expected: 2,
                actual: 3
            })
        ));
    }
}

/// x ending on a page boundary: the `Windowed` kernels' last windows of a row reach past x,
/// and there onto a page that may hold none of it, so they load from a copy of x's end
/// instead, with the same bits.
#[test]
fn x_ending_on_a_page_boundary() {
    let mut rng = Rng::new(0x9a6e);
    let mut buf = vec![0.0f32; 4096];
    for cols in [1, 5, 31, 40, 95] {
        let a = matrix(&mut rng, 48, cols, none, |v| v);
        let x: Vec<f32> = (0..cols).map(|j| j as f32 * 0.5 - 3.0).collect();
        let page = buf.as_ptr().align_offset(4096) + 1024;
        let xs = &mut buf[page - cols..page];
        xs.copy_from_slice(&x);
        let packed = PackedCsr::pack_with(a.view(), PackedLayout::Windowed);
        check_layout(&a, packed, xs, "x ending on a page boundary");
    }
}

#[test]
fn a_gathered_step_cost_must_be_positive_and_finite() {
    let a = Csr::try_new(1, 4, vec![0, 1], vec![2], vec![1.0f32]).unwrap();
    for cost in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let packing = std::panic::catch_unwind(|| PackedCsr::pack_hybrid(a.view(), cost));
        assert!(packing.is_err(), "{cost}");
    }
    let here = PackedCsr::<f32>::gathered_step_cost();
    assert!(here.is_finite() && here > 0.0);
}
