//! The `WITH (options = $$ ... $$)` string of a `vectors` index: TOML in
//! pgvecto.rs's formats, read with serde from the `toml` crate.
//!
//! Two syntaxes are accepted (not mixed in one string):
//!
//! ```text
//! # pgvecto.rs 0.1.5 and later
//! [indexing.hnsw]
//! m = 16                      # neighbours per node, 2..=100
//! ef_construction = 64        # 4..=1000
//! [indexing.hnsw.quantization.product]   # or .scalar, .trivial, .rabitq
//! ratio = 8                   # validated, ignored
//! [segment]
//! max_growing_segment_size = 20000       # validated, ignored
//! [optimizing]
//! optimizing_threads = 4      # validated, ignored
//!
//! # the older form of the seed's articles
//! capacity = 2097152          # validated, ignored
//! size_ram = 4294967296       # validated, ignored
//! storage_vectors = "ram"     # "ram" or "disk", validated, ignored
//! [algorithm.hnsw]
//! storage = "ram"             # validated, ignored
//! m = 32
//! ef = 256                    # ef_construction (either name)
//! ```
//!
//! Only `m` and `ef_construction` change what strata builds. Every other key
//! is checked against pgvecto.rs's ranges, so typos and invalid values fail
//! as they would there, and is then reported in [`IndexOptions::ignored`]
//! (the extension turns each into a NOTICE). Unknown keys and sections are
//! refused by the serde derives (`deny_unknown_fields`).

use serde::Deserialize;
use std::fmt;
use toml::Spanned;

pub const M_RANGE: (i64, i64) = (2, 100);
pub const EF_CONSTRUCTION_RANGE: (i64, i64) = (4, 1000);

/// A key that was valid but changes nothing in strata, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Ignored {
    /// Its dotted path, e.g. `optimizing.optimizing_threads`.
    pub key: String,
    pub reason: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexOptions {
    pub m: Option<i64>,
    pub ef_construction: Option<i64>,
    /// Keys accepted without effect, in the order of the checks below.
    pub ignored: Vec<Ignored>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OptionsError(pub String);

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid index options: {}", self.0)
    }
}

// ------------------------------------------------------------ the documents
// Every struct refuses unknown keys; values are Spanned so that range errors
// can name their line.

type Int = Option<Spanned<i64>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    capacity: Int,
    size_ram: Int,
    storage_vectors: Option<Spanned<String>>,
    algorithm: Option<Algorithm>,
    indexing: Option<Indexing>,
    segment: Option<Segment>,
    optimizing: Option<Optimizing>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Algorithm {
    hnsw: Option<OldHnsw>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OldHnsw {
    storage: Option<Spanned<String>>,
    m: Int,
    ef: Int,
    ef_construction: Int,
}

/// strata builds HNSW only: `flat` and `ivf` are refused as unknown.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Indexing {
    hnsw: Option<Hnsw>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Hnsw {
    m: Int,
    ef_construction: Int,
    quantization: Option<Quantization>,
}

/// pgvecto.rs's quantizers across versions: `trivial` and product `sample`
/// and `ratio = "x4"` (0.2), scalar and product `bits`, integer `ratio` and
/// `rabitq` (0.3 and later).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum Quantization {
    Trivial(Empty),
    Scalar(Scalar),
    Product(Product),
    Rabitq(Empty),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scalar {
    bits: Int,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Product {
    sample: Int,
    ratio: Option<Spanned<Ratio>>,
    bits: Int,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Ratio {
    Factor(i64),
    Name(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Segment {
    max_growing_segment_size: Int,
    max_sealed_segment_size: Int,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Optimizing {
    optimizing_threads: Int,
    sealing_secs: Int,
    sealing_size: Int,
    optimizing_secs: Int,
    delete_threshold: Option<Spanned<f64>>,
}

// ------------------------------------------------------------- validation

const STORAGE: &str = "every index lives in PostgreSQL pages, read through shared buffers";
const SIZE: &str = "the index grows page by page as PostgreSQL relations do";
const QUANTIZATION: &str =
    "the index keeps the column's own elements; a vecf16, veci8 or bvector column gives a smaller index";
const GROWING: &str = "the writing segment's size is the reloption max_writing_size";
const SEALED: &str = "sealed segments are sized by maintenance_work_mem and the merge policy";
const OPTIMIZING: &str = "the background merge has no such setting";

/// 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

struct Checker<'a> {
    text: &'a str,
    ignored: Vec<Ignored>,
}

impl Checker<'_> {
    fn error(&self, span: std::ops::Range<usize>, message: String) -> OptionsError {
        OptionsError(format!("line {}: {message}", line_of(self.text, span.start)))
    }

    fn int_in(&self, key: &str, v: &Spanned<i64>, (lo, hi): (i64, i64)) -> Result<i64, OptionsError> {
        let x = *v.get_ref();
        if (lo..=hi).contains(&x) {
            Ok(x)
        } else {
            Err(self.error(v.span(), format!("{key} = {x} is out of range {lo}..={hi}")))
        }
    }

    /// Checks a key that has no effect and records it as ignored.
    fn ignore_int(&mut self, path: &str, v: &Int, range: (i64, i64), reason: &'static str) -> Result<(), OptionsError> {
        if let Some(v) = v {
            let key = path.rsplit('.').next().unwrap_or(path);
            self.int_in(key, v, range)?;
            self.ignore(path, reason);
        }
        Ok(())
    }

    fn ignore(&mut self, path: &str, reason: &'static str) {
        self.ignored.push(Ignored { key: path.to_string(), reason });
    }

    fn storage(&mut self, path: &str, v: &Option<Spanned<String>>) -> Result<(), OptionsError> {
        if let Some(v) = v {
            let key = path.rsplit('.').next().unwrap_or(path);
            if !matches!(v.get_ref().as_str(), "ram" | "disk") {
                return Err(self.error(v.span(), format!("{key} must be \"ram\" or \"disk\"")));
            }
            self.ignore(path, STORAGE);
        }
        Ok(())
    }

    fn bits(&self, v: &Int) -> Result<(), OptionsError> {
        match v {
            Some(b) if !matches!(b.get_ref(), 1 | 2 | 4 | 8) => {
                Err(self.error(b.span(), format!("bits = {} must be 1, 2, 4 or 8", b.get_ref())))
            }
            _ => Ok(()),
        }
    }

    fn quantization(&mut self, q: &Quantization) -> Result<(), OptionsError> {
        let name = match q {
            Quantization::Trivial(_) => "trivial",
            Quantization::Rabitq(_) => "rabitq",
            Quantization::Scalar(s) => {
                self.bits(&s.bits)?;
                "scalar"
            }
            Quantization::Product(p) => {
                self.bits(&p.bits)?;
                if let Some(sample) = &p.sample {
                    self.int_in("sample", sample, (1, 1_000_000))?;
                }
                if let Some(ratio) = &p.ratio {
                    let valid = match ratio.get_ref() {
                        Ratio::Factor(f) => (1..=8).contains(f),
                        Ratio::Name(n) => matches!(n.as_str(), "x4" | "x8" | "x16" | "x32" | "x64"),
                    };
                    if !valid {
                        return Err(self.error(
                            ratio.span(),
                            "ratio must be an integer in 1..=8 or one of \"x4\", \"x8\", \"x16\", \"x32\", \"x64\"".into(),
                        ));
                    }
                }
                "product"
            }
        };
        self.ignore(&format!("indexing.hnsw.quantization.{name}"), QUANTIZATION);
        Ok(())
    }
}

/// Parses and validates an options string.
pub fn parse(text: &str) -> Result<IndexOptions, OptionsError> {
    let doc: Document = toml::from_str(text).map_err(|e| {
        // The crate's Display draws the source line; one line reads better in an ERROR.
        let message = e.message().trim_end().replace('\n', " ");
        match e.span() {
            Some(span) => OptionsError(format!("line {}: {message}", line_of(text, span.start))),
            None => OptionsError(message),
        }
    })?;
    let mut c = Checker { text, ignored: Vec::new() };
    let mut out = IndexOptions::default();
    c.ignore_int("capacity", &doc.capacity, (1, i64::MAX), SIZE)?;
    c.ignore_int("size_ram", &doc.size_ram, (1, i64::MAX), SIZE)?;
    c.storage("storage_vectors", &doc.storage_vectors)?;
    if doc.algorithm.is_some() && doc.indexing.is_some() {
        return Err(OptionsError(
            "[algorithm.hnsw] (pgvecto.rs before 0.1.5) and [indexing.hnsw] cannot be mixed; use one".into(),
        ));
    }
    if let Some(old) = doc.algorithm.and_then(|a| a.hnsw) {
        c.storage("algorithm.hnsw.storage", &old.storage)?;
        if let Some(m) = &old.m {
            out.m = Some(c.int_in("m", m, M_RANGE)?);
        }
        let ef = match (&old.ef, &old.ef_construction) {
            (Some(_), Some(second)) => {
                return Err(c.error(second.span(), "ef and ef_construction are the same option; give one".into()))
            }
            (Some(ef), None) => Some(c.int_in("ef", ef, EF_CONSTRUCTION_RANGE)?),
            (None, Some(ef)) => Some(c.int_in("ef_construction", ef, EF_CONSTRUCTION_RANGE)?),
            (None, None) => None,
        };
        out.ef_construction = ef;
    }
    if let Some(hnsw) = doc.indexing.and_then(|i| i.hnsw) {
        if let Some(m) = &hnsw.m {
            out.m = Some(c.int_in("m", m, M_RANGE)?);
        }
        if let Some(ef) = &hnsw.ef_construction {
            out.ef_construction = Some(c.int_in("ef_construction", ef, EF_CONSTRUCTION_RANGE)?);
        }
        if let Some(q) = &hnsw.quantization {
            c.quantization(q)?;
        }
    }
    // Ranges as pgvecto.rs validates them.
    const SIZE_RANGE: (i64, i64) = (1, 4_000_000_000);
    if let Some(s) = &doc.segment {
        c.ignore_int("segment.max_growing_segment_size", &s.max_growing_segment_size, SIZE_RANGE, GROWING)?;
        c.ignore_int("segment.max_sealed_segment_size", &s.max_sealed_segment_size, SIZE_RANGE, SEALED)?;
    }
    if let Some(o) = &doc.optimizing {
        c.ignore_int("optimizing.optimizing_threads", &o.optimizing_threads, (1, 65535), OPTIMIZING)?;
        c.ignore_int("optimizing.sealing_secs", &o.sealing_secs, (1, 86400), OPTIMIZING)?;
        c.ignore_int("optimizing.sealing_size", &o.sealing_size, SIZE_RANGE, OPTIMIZING)?;
        c.ignore_int("optimizing.optimizing_secs", &o.optimizing_secs, (1, 86400), OPTIMIZING)?;
        if let Some(t) = &o.delete_threshold {
            let x = *t.get_ref();
            if !(0.0001..=1.0).contains(&x) {
                return Err(c.error(t.span(), format!("delete_threshold = {x} is out of range 0.0001..=1")));
            }
            c.ignore("optimizing.delete_threshold", OPTIMIZING);
        }
    }
    out.ignored = c.ignored;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(o: &IndexOptions) -> Vec<&str> {
        o.ignored.iter().map(|i| i.key.as_str()).collect()
    }

    #[test]
    fn the_seed_example_parses() {
        let text = "\ncapacity = 2097152\nsize_ram = 4294967296\nstorage_vectors = \"ram\"\n[algorithm.hnsw]\nstorage = \"ram\"\nm = 32\nef = 256\n";
        let o = parse(text).unwrap();
        assert_eq!((o.m, o.ef_construction), (Some(32), Some(256)));
        assert_eq!(keys(&o), ["capacity", "size_ram", "storage_vectors", "algorithm.hnsw.storage"]);
        assert_eq!(parse("").unwrap(), IndexOptions::default());
    }

    #[test]
    fn the_current_syntax_maps_m_and_ef_construction_and_ignores_the_rest() {
        let o = parse("[indexing.hnsw]\nm = 16\nef_construction = 64").unwrap();
        assert_eq!(o, IndexOptions { m: Some(16), ef_construction: Some(64), ignored: vec![] });
        let text = "[indexing.hnsw]\nm = 20\n[indexing.hnsw.quantization.product]\nratio = 8\n\
                    [segment]\nmax_growing_segment_size = 20000\nmax_sealed_segment_size = 1000000\n\
                    [optimizing]\noptimizing_threads = 4\nsealing_secs = 60\nsealing_size = 1\noptimizing_secs = 30\ndelete_threshold = 0.2";
        let o = parse(text).unwrap();
        assert_eq!((o.m, o.ef_construction), (Some(20), None));
        assert_eq!(
            keys(&o),
            [
                "indexing.hnsw.quantization.product",
                "segment.max_growing_segment_size",
                "segment.max_sealed_segment_size",
                "optimizing.optimizing_threads",
                "optimizing.sealing_secs",
                "optimizing.sealing_size",
                "optimizing.optimizing_secs",
                "optimizing.delete_threshold",
            ]
        );
        // Dotted keys and inline tables are the same TOML.
        let o = parse("optimizing.optimizing_threads = 4\nindexing = { hnsw = { m = 8, quantization = { scalar = {} } } }").unwrap();
        assert_eq!(o.m, Some(8));
        assert_eq!(keys(&o), ["indexing.hnsw.quantization.scalar", "optimizing.optimizing_threads"]);
        // Every quantizer pgvecto.rs has had.
        for q in ["trivial]", "scalar]\nbits = 4", "product]\nsample = 65535\nratio = \"x16\"\nbits = 8", "rabitq]"] {
            parse(&format!("[indexing.hnsw.quantization.{q}")).unwrap();
        }
        // An empty [indexing] or [indexing.hnsw] keeps the defaults.
        assert_eq!(parse("[indexing]").unwrap(), IndexOptions::default());
        assert_eq!(parse("[indexing.hnsw]").unwrap(), IndexOptions::default());
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let e = |t: &str| parse(t).unwrap_err().to_string();
        assert_eq!(e("[algorithm.hnsw]\nm = 1000"), "invalid index options: line 2: m = 1000 is out of range 2..=100");
        assert_eq!(e("[indexing.hnsw]\n\nef_construction = 2000"), "invalid index options: line 3: ef_construction = 2000 is out of range 4..=1000");
        assert!(e("mm = 3").starts_with("invalid index options: line 1: unknown field `mm`"), "{}", e("mm = 3"));
        assert!(e("[algorithm.ivf]").contains("unknown field `ivf`, expected `hnsw`"), "{}", e("[algorithm.ivf]"));
        assert!(e("[indexing.ivf]\nnlist = 10").contains("unknown field `ivf`, expected `hnsw`"));
        assert!(e("[indexing.hnsw]\nm = 16\nmm = 3").starts_with("invalid index options: line 3: unknown field `mm`"));
        assert!(e("[optimizing]\nthreads = 4").contains("unknown field `threads`"));
        assert!(e("[indexing.hnsw.quantization.lossy]").contains("unknown variant `lossy`"), "{}", e("[indexing.hnsw.quantization.lossy]"));
        assert!(e("m = 16").contains("unknown field `m`"));
        assert_eq!(e("storage_vectors = \"tape\""), "invalid index options: line 1: storage_vectors must be \"ram\" or \"disk\"");
        assert_eq!(e("[optimizing]\noptimizing_threads = 0"), "invalid index options: line 2: optimizing_threads = 0 is out of range 1..=65535");
        assert_eq!(e("[segment]\nmax_growing_segment_size = 4000000001"), "invalid index options: line 2: max_growing_segment_size = 4000000001 is out of range 1..=4000000000");
        assert_eq!(e("[optimizing]\ndelete_threshold = 2.5"), "invalid index options: line 2: delete_threshold = 2.5 is out of range 0.0001..=1");
        assert_eq!(e("[indexing.hnsw.quantization.scalar]\nbits = 3"), "invalid index options: line 2: bits = 3 must be 1, 2, 4 or 8");
        assert_eq!(
            e("[indexing.hnsw.quantization.product]\nratio = \"x5\""),
            "invalid index options: line 2: ratio must be an integer in 1..=8 or one of \"x4\", \"x8\", \"x16\", \"x32\", \"x64\""
        );
        assert!(e("[indexing.hnsw.quantization.product]\nratio = 9").starts_with("invalid index options: line 2: ratio must be"));
        assert_eq!(
            e("[algorithm.hnsw]\nm = 16\n[indexing.hnsw]\nm = 16"),
            "invalid index options: [algorithm.hnsw] (pgvecto.rs before 0.1.5) and [indexing.hnsw] cannot be mixed; use one"
        );
        assert_eq!(e("[algorithm.hnsw]\nef = 16\nef_construction = 16"), "invalid index options: line 3: ef and ef_construction are the same option; give one");
        assert!(e("[algorithm.hnsw]\nm = \"16\"").starts_with("invalid index options: line 2: invalid type: string \"16\", expected i64"), "{}", e("[algorithm.hnsw]\nm = \"16\""));
        // Syntax errors are one line, with the line number.
        assert!(e("capacity").starts_with("invalid index options: line 1: "), "{}", e("capacity"));
        assert!(!e("capacity").contains('\n'));
    }
}
