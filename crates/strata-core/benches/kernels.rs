//! Distance-kernel benchmark: every kernel set the CPU can run, and the
//! dispatching entry points, against the scalar references, at 128, 768,
//! 1536 and 3072 dimensions (bits: the same numbers of bits).
//!
//!     cargo bench -p strata-core --bench kernels
//!
//! A small harness instead of criterion, to keep the run short on a busy
//! machine and the dependency tree unchanged. Each case is timed in many
//! short samples (a calibrated number of back-to-back calls, about
//! `STRATA_BENCH_SAMPLE_US` microseconds, default 200), and every round
//! samples all cases in turn (`STRATA_BENCH_ROUNDS`, default 150), so load
//! from other processes falls on all cases alike. The tables report the
//! best sample's ns per call, the usual estimate of a kernel's own cost on
//! a shared machine (a sample that was preempted or shared its core only
//! gets slower); the goal lines also give ratios of medians. All ratios
//! come from the same run. Without `--bench` (as under `cargo test
//! --benches`) it runs one short round as a smoke test.

use std::hint::black_box;
use std::time::Instant;

use half::f16;
use strata_core::distance::*;

const DIMS: [usize; 4] = [128, 768, 1536, 3072];

struct Case {
    family: &'static str,
    metric: &'static str,
    dims: usize,
    variant: String,
    run: Box<dyn FnMut(u64)>,
    iters: u64,
    samples: Vec<f64>,
}

impl Case {
    fn median(&self) -> f64 {
        let mut s = self.samples.clone();
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        s[s.len() / 2]
    }
    fn best(&self) -> f64 {
        self.samples.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

/// SplitMix64, for reproducible inputs.
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn case(
    family: &'static str,
    metric: &'static str,
    dims: usize,
    variant: &str,
    run: impl FnMut(u64) + 'static,
) -> Case {
    Case {
        family,
        metric,
        dims,
        variant: variant.to_string(),
        run: Box::new(run),
        iters: 1,
        samples: vec![],
    }
}

/// Adds the cases of one float metric: reference, each table, dispatcher.
macro_rules! float_cases {
    ($cases:ident, $family:literal, $T:ty, $tables:expr, $a:ident, $b:ident, $dims:ident,
     $metric:literal, $reference:path, $method:ident, $dispatched:path) => {{
        {
            let (a, b) = ($a.clone(), $b.clone());
            $cases.push(case($family, $metric, $dims, "reference", move |n| {
                for _ in 0..n {
                    black_box($reference(black_box(&a[..]), black_box(&b[..])));
                }
            }));
        }
        for k in $tables.into_iter().filter(|k| k.isa() != "reference") {
            let (a, b) = ($a.clone(), $b.clone());
            $cases.push(case($family, $metric, $dims, k.isa(), move |n| {
                for _ in 0..n {
                    black_box(k.$method(black_box(&a[..]), black_box(&b[..])));
                }
            }));
        }
        {
            let (a, b) = ($a.clone(), $b.clone());
            $cases.push(case($family, $metric, $dims, "dispatched", move |n| {
                for _ in 0..n {
                    black_box($dispatched(black_box(&a[..]), black_box(&b[..])));
                }
            }));
        }
    }};
}

fn build_cases() -> Vec<Case> {
    let mut rng = Rng(0x000B_E4C4);
    let mut cases = Vec::new();
    for dims in DIMS {
        let a: Vec<f32> = (0..dims).map(|_| rng.unit()).collect();
        let b: Vec<f32> = (0..dims).map(|_| rng.unit()).collect();
        float_cases!(
            cases,
            "f32",
            f32,
            available_f32_kernels(),
            a,
            b,
            dims,
            "l2",
            l2_f32_reference,
            l2,
            l2_f32
        );
        float_cases!(
            cases,
            "f32",
            f32,
            available_f32_kernels(),
            a,
            b,
            dims,
            "dot",
            dot_f32_reference,
            dot,
            dot_f32
        );
        float_cases!(
            cases,
            "f32",
            f32,
            available_f32_kernels(),
            a,
            b,
            dims,
            "cosine",
            cosine_f32_reference,
            cosine,
            cosine_f32
        );
    }
    for dims in DIMS {
        let a: Vec<f16> = (0..dims).map(|_| f16::from_f32(rng.unit())).collect();
        let b: Vec<f16> = (0..dims).map(|_| f16::from_f32(rng.unit())).collect();
        float_cases!(
            cases,
            "f16",
            f16,
            available_f16_kernels(),
            a,
            b,
            dims,
            "l2",
            l2_f16_reference,
            l2,
            l2_f16
        );
        float_cases!(
            cases,
            "f16",
            f16,
            available_f16_kernels(),
            a,
            b,
            dims,
            "dot",
            dot_f16_reference,
            dot,
            dot_f16
        );
        float_cases!(
            cases,
            "f16",
            f16,
            available_f16_kernels(),
            a,
            b,
            dims,
            "cosine",
            cosine_f16_reference,
            cosine,
            cosine_f16
        );
    }
    for dims in DIMS {
        let words = dims.div_ceil(64);
        let a: Vec<u64> = (0..words).map(|_| rng.next_u64()).collect();
        let b: Vec<u64> = (0..words).map(|_| rng.next_u64()).collect();
        float_cases!(
            cases,
            "bits",
            u64,
            available_bit_kernels(),
            a,
            b,
            dims,
            "hamming",
            hamming_reference,
            hamming,
            hamming
        );
        float_cases!(
            cases,
            "bits",
            u64,
            available_bit_kernels(),
            a,
            b,
            dims,
            "dot",
            dot_bits_reference,
            dot,
            dot_bits
        );
        float_cases!(
            cases,
            "bits",
            u64,
            available_bit_kernels(),
            a,
            b,
            dims,
            "jaccard",
            jaccard_reference,
            jaccard,
            jaccard
        );
        float_cases!(
            cases,
            "bits",
            u64,
            available_bit_kernels(),
            a,
            b,
            dims,
            "cosine",
            cosine_bits_reference,
            cosine,
            cosine_bits
        );
    }
    // veci8: the int8 code dot product every veci8 distance is built on,
    // per kernel, and the dispatched l2 distance on encoded vectors.
    for dims in DIMS {
        let a: Vec<f32> = (0..dims).map(|_| rng.unit()).collect();
        let b: Vec<f32> = (0..dims).map(|_| rng.unit()).collect();
        let (ea, eb) = (strata_core::int8::encode_f32(&a), strata_core::int8::encode_f32(&b));
        for k in strata_core::int8::available_kernels() {
            let (ca, cb) = (strata_core::int8::I8Ref::new(&ea).codes.to_vec(), strata_core::int8::I8Ref::new(&eb).codes.to_vec());
            cases.push(case("i8", "dot", dims, k.isa, move |n| {
                for _ in 0..n {
                    black_box(k.dot(black_box(&ca[..]), black_box(&cb[..])));
                }
            }));
        }
        let (ea, eb) = (ea.clone(), eb.clone());
        cases.push(case("i8", "dot", dims, "dispatched l2", move |n| {
            for _ in 0..n {
                let (x, y) = (strata_core::int8::I8Ref::new(black_box(&ea)), strata_core::int8::I8Ref::new(black_box(&eb)));
                black_box(strata_core::int8::l2(x, y));
            }
        }));
    }
    cases
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `model name (family F, model M)` from /proc/cpuinfo, where present.
fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.split(':').next().map(str::trim) == Some(name))
            .and_then(|l| l.split(':').nth(1))
            .map(|v| v.trim().to_string())
    };
    match (field("model name"), field("cpu family"), field("model")) {
        (Some(name), Some(family), Some(model)) => {
            format!("{name} (family {family}, model {model})")
        }
        (Some(name), _, _) => name,
        _ => "unknown".to_string(),
    }
}

/// The 1-minute load average, to show how busy the machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rounds = if full {
        env_num("STRATA_BENCH_ROUNDS", 150).max(1)
    } else {
        1
    };
    let sample_ns = if full {
        env_num("STRATA_BENCH_SAMPLE_US", 200).max(1) * 1_000
    } else {
        20_000
    };

    let load_before = load_average();
    let mut cases = build_cases();
    // Calibrate: iterations per sample so that one sample takes ~sample_ns.
    for c in &mut cases {
        (c.run)(100); // warm up caches and the dispatcher
        let mut iters = 16u64;
        loop {
            let t = Instant::now();
            (c.run)(iters);
            let ns = t.elapsed().as_nanos() as u64;
            if ns >= sample_ns / 4 || iters >= 1 << 30 {
                c.iters = (iters * sample_ns / ns.max(1)).max(1);
                break;
            }
            iters *= 4;
        }
    }
    for _ in 0..rounds {
        for c in &mut cases {
            let t = Instant::now();
            (c.run)(c.iters);
            c.samples
                .push(t.elapsed().as_nanos() as f64 / c.iters as f64);
        }
    }

    let k = kernels();
    println!(
        "load average (1 min) before / after: {load_before} / {}",
        load_average()
    );
    println!(
        "CPU: {} ({} logical CPUs)",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "selected kernels: f32 `{}`, f16 `{}`, bits `{}`",
        k.f32.isa(),
        k.f16.isa(),
        k.bits.isa()
    );
    println!(
        "{rounds} rounds x ~{} us per case; best-sample ns per call (speed-up vs reference)",
        sample_ns / 1_000
    );

    let stat =
        |family: &str, metric: &str, dims: usize, variant: &str, f: fn(&Case) -> f64| -> f64 {
            cases
                .iter()
                .find(|c| {
                    c.family == family
                        && c.metric == metric
                        && c.dims == dims
                        && c.variant == variant
                })
                .map(f)
                .unwrap_or(f64::NAN)
        };
    let best = |family: &str, metric: &str, dims: usize, variant: &str| {
        stat(family, metric, dims, variant, Case::best)
    };
    let median = |family: &str, metric: &str, dims: usize, variant: &str| {
        stat(family, metric, dims, variant, Case::median)
    };
    for family in ["f32", "f16", "bits", "i8"] {
        let mut variants: Vec<&str> = Vec::new();
        for c in cases.iter().filter(|c| c.family == family) {
            if !variants.contains(&c.variant.as_str()) {
                variants.push(&c.variant);
            }
        }
        println!();
        let unit = if family == "bits" { "bits" } else { "dims" };
        print!("| {family} | {unit} |");
        for v in &variants {
            print!(" {v} |");
        }
        println!();
        print!("|---|---:|");
        for _ in &variants {
            print!("---:|");
        }
        println!();
        let mut metrics: Vec<&str> = Vec::new();
        for c in cases.iter().filter(|c| c.family == family) {
            if !metrics.contains(&c.metric) {
                metrics.push(c.metric);
            }
        }
        for metric in &metrics {
            for dims in DIMS {
                let reference = best(family, metric, dims, "reference");
                print!("| {metric} | {dims} |");
                for v in &variants {
                    let m = best(family, metric, dims, v);
                    if *v == "reference" {
                        print!(" {m:.1} |");
                    } else {
                        print!(" {m:.1} ({:.1}x) |", reference / m);
                    }
                }
                println!();
            }
        }
    }

    println!();
    println!("Goals (dispatched entry points; ratio of best samples, and of medians):");
    for metric in ["l2", "dot", "cosine"] {
        let b = best("f32", metric, 768, "reference") / best("f32", metric, 768, "dispatched");
        let m = median("f32", metric, 768, "reference") / median("f32", metric, 768, "dispatched");
        println!("- f32 {metric} at 768 dims: {b:.1}x the scalar reference (medians: {m:.1}x; goal >= 4x)");
    }
    let b = best("f32", "l2", 3072, "dispatched") / best("bits", "hamming", 3072, "dispatched");
    let m = median("f32", "l2", 3072, "dispatched") / median("bits", "hamming", 3072, "dispatched");
    println!("- hamming on 3072 bits: {b:.1}x faster than f32 l2 on 3072 dims (medians: {m:.1}x; goal >= 20x)");
    let b = best("i8", "dot", 768, "reference") / best("i8", "dot", 768, "dispatched l2");
    let f = best("f32", "l2", 768, "dispatched") / best("i8", "dot", 768, "dispatched l2");
    println!("- veci8 l2 at 768 dims: {b:.1}x the scalar int8 reference, {f:.2}x the speed of f32 l2");
}
