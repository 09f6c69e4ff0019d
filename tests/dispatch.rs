//! Tier detection, naming, `LOWP_ISA` and `LOWP_EXPECT_ISAS`.

use std::process::Command;

use lowp::{Backend, Error, Isa};

/// CI sets `LOWP_EXPECT_ISAS` to the tiers its machine has (read from /proc/cpuinfo, not from
/// lowp), so a detection bug or a silent fallback cannot pass by testing fewer backends.
#[test]
fn expected_isas_are_detected() {
    let Ok(list) = std::env::var("LOWP_EXPECT_ISAS") else {
        eprintln!("LOWP_EXPECT_ISAS not set: nothing to expect");
        return;
    };
    let supported: Vec<Isa> = Backend::all_supported().iter().map(|b| b.isa()).collect();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let isa: Isa = name
            .parse()
            .unwrap_or_else(|e| panic!("LOWP_EXPECT_ISAS: {e}"));
        assert!(
            supported.contains(&isa),
            "expected tier {isa} is missing; detected: {supported:?}"
        );
    }
}

#[test]
fn tiers_are_ordered_and_named_uniquely() {
    assert!(Isa::ALL.windows(2).all(|w| w[0] < w[1]));
    for &isa in Isa::ALL {
        assert_eq!(isa.name().parse::<Isa>().unwrap(), isa);
        assert_eq!(isa.name().to_uppercase().parse::<Isa>().unwrap(), isa);
        assert_eq!(format!(" {isa} ").parse::<Isa>().unwrap(), isa);
    }
}

#[test]
fn supported_tiers_are_a_prefix_and_best_is_the_last() {
    let supported = Backend::all_supported();
    assert_eq!(supported[0].isa(), Isa::Scalar);
    assert_eq!(supported[1].isa(), Isa::Portable);
    // A higher tier implies the lower ones, so support is a prefix of Isa::ALL.
    let isas: Vec<Isa> = supported.iter().map(|b| b.isa()).collect();
    assert_eq!(isas, Isa::ALL[..isas.len()]);
    assert_eq!(Backend::best(), *supported.last().unwrap());
    for &isa in &Isa::ALL[isas.len()..] {
        assert!(
            Backend::new(isa).is_none(),
            "{isa} constructed on a CPU without it"
        );
    }
}

#[test]
fn names_resolve_or_fail_clearly() {
    assert_eq!(Backend::from_name("scalar").unwrap().isa(), Isa::Scalar);
    assert_eq!(Backend::from_name("").unwrap(), Backend::best());
    let err = Backend::from_name("avx1024").unwrap_err();
    assert_eq!(
        err,
        Error::UnknownIsa {
            name: "avx1024".into()
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("avx1024") && message.contains("scalar") && message.contains("portable"),
        "{message}"
    );
    if let Some(&missing) = Isa::ALL.iter().find(|isa| !isa.is_supported()) {
        let err = Backend::from_name(missing.name()).unwrap_err();
        assert_eq!(err, Error::UnsupportedIsa { isa: missing });
        assert!(
            err.to_string().contains("supported: scalar, portable"),
            "{err}"
        );
    }
}

fn lowp_info(isa: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lowp"))
        .arg("info")
        .env("LOWP_ISA", isa)
        .output()
        .expect("the lowp binary runs")
}

/// Whether this test process can start the `lowp` binary itself. Under qemu-user (the aarch64
/// CI run) the test binary is emulated but a child it spawns is not, so these tests skip there
/// (saying so); natively they always run.
fn binary_runs_here() -> bool {
    let ok = Command::new(env!("CARGO_BIN_EXE_lowp"))
        .arg("--help")
        .output()
        .is_ok_and(|out| out.status.success());
    if !ok {
        eprintln!("cannot start the lowp binary from this (emulated?) test process: skipped");
    }
    ok
}

#[test]
fn lowp_isa_picks_the_tier_for_the_process() {
    if !binary_runs_here() {
        return;
    }
    for backend in Backend::all_supported() {
        let out = lowp_info(backend.isa().name());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert!(
            stdout.contains(&format!("active: {}", backend.isa())),
            "{stdout}"
        );
    }
}

#[test]
fn bad_lowp_isa_is_a_clear_error_not_a_fallback() {
    if !binary_runs_here() {
        return;
    }
    let out = lowp_info("sse9");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown ISA \"sse9\"") && stderr.contains("supported by this CPU"),
        "{stderr}"
    );
}
