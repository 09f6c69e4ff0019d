#!/usr/bin/env bash
# Miri over the `Avx2` tier: the listed tests interpreted, every load, store, mask and tail of
# their kernels checked for undefined behaviour (reads or writes outside an allocation,
# dangling or misaligned pointers, uninitialised bytes). Under Miri the tests' lengths shrink
# to those around each vector width and step (tests/common: `lengths`).
# - Miri has no F16C: the tier's two F16C conversions convert lane by lane under it
#   (src/arch/x86_64/avx2/f16c.rs), and no `cpuid`: the kernels take the default choices.
# - `half` converts f16 by F16C when the target has it, which Miri cannot run: the listed
#   tests make their f16 values by `half`'s software conversions (`from_f32_const`), and
#   lowp's element-wise f16 epilogue, its scalar backend's widening (`Output`) and its f64
#   reference convert by their own code under Miri.
# Usage: bash .ci/miri.sh   (installs Miri on the nightly toolchain if needed)
set -euo pipefail
cd "$(dirname "$0")/.."

# Miri comes only with a nightly toolchain, as a rustup component. A machine that has no
# nightly, or cannot download the component, skips this step and says so.
skip() { echo "MIRI SKIPPED: $1"; exit 0; }
rustup toolchain list | grep -q '^nightly' || skip "no nightly toolchain"
rustup component list --toolchain nightly --installed | grep -q '^miri' \
  || timeout 600 rustup component add --toolchain nightly miri rust-src \
  || skip "the miri component could not be installed"
cargo +nightly miri --version

# The CPU Miri models: the `Avx2` tier's features, AES for the ARS-5 generator.
export RUSTFLAGS="-C target-feature=+avx2,+fma,+f16c,+aes"
# Isolation off: the tests read LOWP_TEST_ISAS.
export MIRIFLAGS="-Zmiri-disable-isolation"
export LOWP_TEST_ISAS=avx2

miri_test() {
  local file=$1; shift
  cargo +nightly miri test --quiet --test "$file" -- --test-threads=1 "$@"
}
# Two lines of tests at a time (Miri runs on one core), each about 15 minutes here.
(
  miri_test stochastic conversions_match_the_reference_on_every_backend \
    fused_update_matches_the_reference_on_every_backend
  miri_test spmv_packed every_backend_gives_the_row_by_row_fma_bits
) &
first=$!
miri_test convert _matches_reference_on_every_backend
miri_test sparse every_malformed_structure_is_rejected spmv_rows_of_every_length_on_every_backend \
  spmv_meets_the_bound_on_every_backend spmm_of_every_width_on_every_backend
miri_test fmac dots_meet_the_bound_on_every_backend gemv_shape_grid_on_every_backend \
  nan_and_infinity_propagate
miri_test gemm gemm_shape_grid_on_every_backend beta_zero_never_reads_c subnormal_inputs \
  bad_shapes packed_b_reports both_b_layouts views_with_no_columns the_bf16_gemm_choice \
  narrow_output
miri_test spmv_packed edge_shapes wrong_lengths_are_typed_errors x_ending_on_a_page_boundary
wait "$first"
