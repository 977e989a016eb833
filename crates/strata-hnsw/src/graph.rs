//! The in-memory graph and its (parallel) construction.
//!
//! # Memory layout and cost
//!
//! For `n` vectors of `d` elements of `e` bytes and parameter `m`
//! (`m0 = 2m` neighbours on layer 0, `m` above):
//!
//! | part                         | bytes per vector                      |
//! |------------------------------|---------------------------------------|
//! | vector                       | `d * e`                               |
//! | layer-0 list (count + slots) | `4 * (2m + 1)`                        |
//! | upper lists (expected)       | `4 * (m + 1) / (m - 1)`               |
//! | level, upper offset, payload | `1 + 4 + 8`                           |
//! | deleted mark                 | `1`                                   |
//!
//! so `d*e + 8m + 18 + 4(m+1)/(m-1)` bytes, about `d*e + 151` for m = 16.
//! During construction add 8 bytes per vector for the per-node locks
//! (`Mutex<()>`) and 2 bytes per vector of visited marks per building
//! thread. [`Hnsw::build`] copies its input; [`Hnsw::build_owned`] takes
//! ownership of it instead, so the input is not held twice.
//! [`Hnsw::memory_bytes`] reports the exact figure of a graph.
//!
//! # Determinism
//!
//! Node levels are a pure function of `(seed, node id)`. With one thread the
//! whole graph is a pure function of the input and [`Params`]. With more
//! threads the levels and the entry point's level are still fixed, but which
//! edges are kept depends on how the insertions interleave, so two runs can
//! differ in edges (not in quality).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::connect::ConnectStats;
use crate::slab::{Slab, Spill};
use crate::page::CodeArray;
use crate::quant::{code_dim, code_input, CodeKind, Quantizer, QueryEstimator, Trainer};
use crate::pairs::PairVectors;
use crate::search::{descend, descend_coded, search_layer, search_layer_estimated, GraphView, Neighbour, SearchScratch};
use crate::space::{Element, Space};

/// Highest level a node may get (the upper-list block of a node must fit in
/// a page, see [`crate::page`]).
pub const MAX_LEVEL: u8 = 15;
/// Bounds of `m`.
pub const MIN_M: usize = 2;
pub const MAX_M: usize = 100;

/// Build parameters.
#[derive(Clone, Debug)]
pub struct Params {
    /// Neighbours per node on the upper layers; layer 0 keeps `2 * m`.
    pub m: usize,
    /// Search width while inserting.
    pub ef_construction: usize,
    /// Seed of the level generator.
    pub seed: u64,
    /// Building threads; 0 means all available cores.
    pub threads: usize,
    /// When set, every node a build or merge inserts adds one, so another
    /// thread can report progress (CREATE INDEX's tuples_done).
    pub inserted: Option<Arc<AtomicU64>>,
    /// When set, layer-0 insertion searches measure neighbours from codes
    /// of this kind first (see [`BuildCodes`]); `None` measures every
    /// neighbour exactly.
    pub build_codes: Option<CodeKind>,
    /// The code the segment a merge writes gets (`None`: no codes). The
    /// merge's checks that its rows can be found search on codes of this
    /// kind, as the scan of that segment will (see `Hnsw::relink_unfound`).
    pub segment_codes: Option<CodeKind>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            m: 16,
            ef_construction: 64,
            seed: 0x5eed_5eed,
            threads: 0,
            inserted: None,
            build_codes: None,
            segment_codes: None,
        }
    }
}

impl Params {
    pub(crate) fn threads(&self) -> usize {
        if self.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.threads
        }
    }
    pub(crate) fn check(&self) {
        assert!(
            (MIN_M..=MAX_M).contains(&self.m),
            "m must be in {MIN_M}..={MAX_M}"
        );
        assert!(
            self.ef_construction >= 1,
            "ef_construction must be positive"
        );
    }
}

/// A build or merge stopped by its interrupt hook (see [`Hnsw::build_interruptible`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("graph construction cancelled")
    }
}
impl std::error::Error for Cancelled {}

/// Why [`Hnsw::build_slabs`] returned no graph.
#[derive(Debug)]
pub enum BuildError {
    Cancelled,
    /// A temporary file of its [`Spill`] could not be made.
    Spill(std::io::Error),
}

impl From<Cancelled> for BuildError {
    fn from(_: Cancelled) -> Self {
        BuildError::Cancelled
    }
}

/// How often the calling thread polls the interrupt hook while worker
/// threads build.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Insertions between two polls of the interrupt hook when the calling
/// thread does the work itself (one-thread builds, the serial parts of a
/// merge).
pub(crate) const POLL_EVERY: u32 = 64;

/// The interrupt hook of one build or merge: `poll` runs on the calling
/// thread only (so it may read state that is not thread-safe, such as a
/// database server's interrupt flags); once it returns true, `flag` tells
/// every worker thread to stop after its current insertion.
pub(crate) struct Stop<'a> {
    poll: &'a mut dyn FnMut() -> bool,
    pub(crate) flag: AtomicBool,
    /// [`Params::inserted`] of the build or merge.
    pub(crate) inserted: Option<Arc<AtomicU64>>,
}

impl<'a> Stop<'a> {
    pub(crate) fn new(poll: &'a mut dyn FnMut() -> bool) -> Self {
        Stop { poll, flag: AtomicBool::new(false), inserted: None }
    }

    /// Counts nodes inserted, for [`Params::inserted`].
    pub(crate) fn counting(mut self, params: &Params) -> Self {
        self.inserted = params.inserted.clone();
        self
    }

    /// Polls the hook (calling thread only); true once a stop was requested.
    pub(crate) fn requested(&mut self) -> bool {
        if self.flag.load(Relaxed) {
            return true;
        }
        if (self.poll)() {
            self.flag.store(true, SeqCst);
            return true;
        }
        false
    }

    pub(crate) fn result(&self) -> Result<(), Cancelled> {
        if self.flag.load(SeqCst) {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }

    /// Runs `work(slot, flag)` on `threads` scoped threads while the calling
    /// thread polls the hook every [`POLL_INTERVAL`], raising `flag` (which
    /// the workers watch) when it fires. Returns when every worker is done.
    /// If a worker panics, the others are stopped and the panic propagates.
    pub(crate) fn run_workers(&mut self, threads: usize, work: impl Fn(usize, &AtomicBool) + Sync) {
        struct Finish<'a>(&'a AtomicUsize, &'a AtomicBool, std::thread::Thread);
        impl Drop for Finish<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.1.store(true, SeqCst);
                }
                self.0.fetch_add(1, SeqCst);
                self.2.unpark();
            }
        }
        // Stops the workers if the calling thread unwinds (a panicking hook).
        struct StopOnUnwind<'a>(&'a AtomicBool);
        impl Drop for StopOnUnwind<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.store(true, SeqCst);
                }
            }
        }
        let Stop { poll, flag, .. } = self;
        let flag = &*flag;
        let done = AtomicUsize::new(0);
        let main = std::thread::current();
        std::thread::scope(|sc| {
            for slot in 0..threads {
                let (work, done, main) = (&work, &done, main.clone());
                sc.spawn(move || {
                    let _finish = Finish(done, flag, main);
                    work(slot, flag);
                });
            }
            let _guard = StopOnUnwind(flag);
            while done.load(SeqCst) < threads {
                std::thread::park_timeout(POLL_INTERVAL);
                if !flag.load(Relaxed) && poll() {
                    flag.store(true, SeqCst);
                }
            }
        });
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The level of a node: `floor(-ln(U) / ln(m))`, U uniform in (0, 1] drawn
/// from `(seed, salt)`.
pub(crate) fn random_level(seed: u64, salt: u64, m: usize) -> u8 {
    let r = splitmix64(seed ^ splitmix64(salt));
    let u = ((r >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let l = (-u.ln() / (m as f64).ln()).floor();
    (l as u64).min(MAX_LEVEL as u64) as u8
}

/// An HNSW graph held in memory, over the vectors of space `S`.
pub struct Hnsw<S: Space> {
    pub(crate) m: usize,
    pub(crate) m0: usize,
    pub(crate) ef_construction: usize,
    pub(crate) seed: u64,
    pub(crate) dim: usize,
    pub(crate) vectors: Slab<S::Elem>,
    pub(crate) payloads: Slab<u64>,
    pub(crate) levels: Vec<u8>,
    /// `n * (m0 + 1)`: per node a count then `m0` slots.
    pub(crate) links0: Slab<AtomicU32>,
    /// Per node, the start of its block in `upper`: `level` lists of
    /// `m + 1` words (count, then `m` slots) for layers `1..=level`.
    pub(crate) upper_off: Vec<u32>,
    pub(crate) upper: Slab<AtomicU32>,
    pub(crate) deleted: Vec<AtomicU8>,
    /// Whether any node was ever marked deleted (saves a memory access per
    /// visited node in the common case).
    pub(crate) any_deleted: AtomicBool,
    pub(crate) entry: Option<(u32, u8)>,
    /// What the reachability repair at the end of the build or merge that
    /// made this graph found and did.
    pub(crate) connect_stats: ConnectStats,
    /// The codes the build or merge that made this graph searched on, kept
    /// so that writing the graph's pages with a code section of the same
    /// kind copies them instead of coding every vector again
    /// ([`crate::page::write_pages_coded`]).
    pub(crate) kept_codes: Option<BuildCodes>,
}

/// Shared state of a construction: per-node locks and the entry point.
pub(crate) struct BuildCtx {
    locks: Vec<Mutex<()>>,
    entry: Mutex<Option<(u32, u8)>>,
    /// Next id to hand out (parallel builds); advanced under `take`.
    next: AtomicU32,
    /// Taking an id, publishing it in `inflight` and snapshotting the other
    /// threads' nodes happen under this lock, so no node is ever taken but
    /// not yet visible as in flight.
    take: Mutex<()>,
    /// Per thread, the node it is inserting (`u32::MAX`: none). Empty for a
    /// one-thread build.
    inflight: Vec<AtomicU32>,
    /// Codes of every node, when the build searches on them.
    codes: Option<BuildCodes>,
}

/// A code of every node's vector, for the construction's searches: an
/// insertion's layer searches run on the codes (a few hundred bytes instead
/// of a vector) and read the vectors of their `ef_construction` results
/// only ([`search_layer_estimated`], which measures every node it takes
/// where the estimates prove too coarse for the data); the descent and the
/// reachability repair's checks measure the nodes they take
/// ([`descend_coded`], [`crate::search::search_layer0_coded`]). The codes live while the graph
/// is built, and a segment written from the graph copies them when they
/// are of its kind ([`Hnsw::kept_codes`]).
pub(crate) struct BuildCodes {
    quantizer: Quantizer,
    codes: Slab<u8>,
    /// The `bf16` copies the insertions measure distances between nodes on
    /// (where [`crate::pairs::applies`]); dropped when the insertions end.
    pairs: Option<PairVectors>,
}

impl BuildCodes {
    /// Trains a quantizer of `kind` on every node of `g` and codes them,
    /// the codes in `spill`'s files when given; `Ok(None)` for spaces
    /// without codes (bits). Both passes run on `threads` threads: the
    /// training's sums over fixed blocks of [`TRAIN_BLOCK`] rows, added in
    /// block order (so the quantizer does not depend on the thread count),
    /// and the coding over one run of rows per thread (MiniLM, 45k rows
    /// of 384-d: 0.18 s on one thread, before any insertion).
    pub(crate) fn train<S: Space>(g: &Hnsw<S>, kind: Option<CodeKind>, spill: Option<&Spill>, threads: usize) -> std::io::Result<Option<BuildCodes>> {
        let n = g.len();
        let (Some(kind), Some(dim)) = (kind, code_dim(S::Elem::KIND, g.dim)) else { return Ok(None) };
        let blocks = n.div_ceil(TRAIN_BLOCK);
        let threads = threads.clamp(1, blocks.max(1));
        let train_blocks = |bs: std::ops::Range<usize>| -> Vec<Trainer> {
            let mut row = Vec::with_capacity(dim);
            bs.map(|b| {
                let mut t = Trainer::new(kind, dim);
                for id in b * TRAIN_BLOCK..((b + 1) * TRAIN_BLOCK).min(n) {
                    code_input::<S>(g.vector(id as u32), &mut row);
                    t.add(&row);
                }
                t
            })
            .collect()
        };
        let parts: Vec<Trainer> = if threads == 1 {
            train_blocks(0..blocks)
        } else {
            std::thread::scope(|sc| {
                let hs: Vec<_> = (0..threads)
                    .map(|t| {
                        let bs = blocks * t / threads..blocks * (t + 1) / threads;
                        sc.spawn(move || train_blocks(bs))
                    })
                    .collect();
                hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
            })
        };
        let mut trainer = Trainer::new(kind, dim);
        for p in &parts {
            trainer.merge(p);
        }
        let quantizer = trainer.finish(g.seed);
        let bytes = quantizer.code_bytes();
        let mut codes = Slab::<u8>::zeroed(n * bytes, spill)?;
        let mut pairs = match crate::pairs::applies(S::Elem::KIND, S::METRIC, Some(kind)) {
            true => Some(PairVectors::zeroed(n, dim, S::METRIC, spill)?),
            false => None,
        };
        // Rows `first..` into their codes and, when kept, their copies
        // (`copies` is empty otherwise).
        let encode = |first: usize, out: &mut [u8], copies: &mut [u16]| {
            let mut row = Vec::with_capacity(dim);
            for (i, out) in out.chunks_exact_mut(bytes).enumerate() {
                code_input::<S>(g.vector((first + i) as u32), &mut row);
                quantizer.encode(&row, out);
                if let Some(c) = copies.get_mut(i * dim..(i + 1) * dim) {
                    PairVectors::encode(&row, c);
                }
            }
        };
        let copies: &mut [u16] = pairs.as_mut().map_or(&mut [], |p| p.rows_mut());
        if threads == 1 || bytes == 0 {
            encode(0, &mut codes, copies);
        } else {
            let per = n.div_ceil(threads);
            let mut copy_runs = copies.chunks_mut(per * dim);
            std::thread::scope(|sc| {
                for (t, chunk) in codes.chunks_mut(per * bytes).enumerate() {
                    let (encode, copy) = (&encode, copy_runs.next().unwrap_or_default());
                    sc.spawn(move || encode(t * per, chunk, copy));
                }
            });
        }
        Ok(Some(BuildCodes { quantizer, codes, pairs }))
    }

    pub(crate) fn array(&self) -> CodeArray<'_> {
        CodeArray { codes: &self.codes, bytes: self.quantizer.code_bytes() }
    }

    pub(crate) fn kind(&self) -> CodeKind {
        self.quantizer.kind()
    }

    /// The copies pair distances are measured on, while insertions run.
    pub(crate) fn pairs(&self) -> Option<&PairVectors> {
        self.pairs.as_ref()
    }

    pub(crate) fn quantizer(&self) -> &Quantizer {
        &self.quantizer
    }

    /// Whether these are codes of every node of a graph of `nodes` nodes.
    pub(crate) fn covers(&self, nodes: usize) -> bool {
        self.codes.len() == nodes * self.quantizer.code_bytes()
    }

    /// The estimator of distances from `q` (a vector of space `S`).
    pub(crate) fn estimator<S: Space>(&self, q: &[S::Elem]) -> QueryEstimator {
        let mut row = Vec::new();
        code_input::<S>(q, &mut row);
        self.quantizer.query(S::METRIC, &row)
    }
}

/// Rows prepared for the space (normalised for cosine) between two polls
/// of a build's hook, on all its threads (MiniLM, 45k rows of 384-d: 36 ms
/// on one thread).
const PREPARE_ROUND: usize = 16_384;

/// Rows per block of the build codes' training (see [`BuildCodes::train`]).
const TRAIN_BLOCK: usize = 4096;

/// Bound on the nodes started after `q` that `q` considers as extra
/// candidates (with 2 threads there are one or two).
const MAX_LATER_PEERS: u32 = 16;

/// Per-thread buffers of a construction.
#[derive(Default)]
pub(crate) struct BuildScratch {
    search: SearchScratch,
    cands: Vec<Neighbour>,
    selected: Vec<Neighbour>,
    pruned: Vec<Neighbour>,
    /// Nodes other threads were inserting when this one started.
    peers: Vec<u32>,
    entries: Vec<u32>,
    /// The inserted node's vector as the codes' input.
    code_query: Vec<f32>,
}

impl<S: Space> Hnsw<S> {
    /// Allocates a graph over `vectors` (already prepared) with the given
    /// levels, no edges and no entry point; the adjacency lists go into
    /// `spill`'s files when given (the only way this can fail).
    pub(crate) fn alloc(
        params: &Params,
        dim: usize,
        vectors: Slab<S::Elem>,
        payloads: Slab<u64>,
        levels: Vec<u8>,
        spill: Option<&Spill>,
    ) -> std::io::Result<Self> {
        params.check();
        assert!(dim > 0, "vectors must have at least one element");
        let n = levels.len();
        assert_eq!(vectors.len(), n * dim);
        assert_eq!(payloads.len(), n);
        assert!(n < u32::MAX as usize, "too many vectors for one graph");
        let m = params.m;
        let m0 = 2 * m;
        let mut upper_off = Vec::with_capacity(n);
        let mut total = 0usize;
        for &l in &levels {
            upper_off.push(u32::try_from(total).expect("upper lists exceed u32 offsets"));
            total += l as usize * (m + 1);
        }
        Ok(Hnsw {
            m,
            m0,
            ef_construction: params.ef_construction,
            seed: params.seed,
            dim,
            vectors,
            payloads,
            levels,
            links0: Slab::zeroed(n * (m0 + 1), spill)?,
            upper_off,
            upper: Slab::zeroed(total, spill)?,
            deleted: (0..n).map(|_| AtomicU8::new(0)).collect(),
            any_deleted: AtomicBool::new(false),
            entry: None,
            connect_stats: ConnectStats::default(),
            kept_codes: None,
        })
    }

    /// Builds a graph over `vectors` (`n * dim` elements, row-major) with
    /// payloads `payloads` (default: the node id). Node `i` is vector `i`.
    pub fn build(
        params: &Params,
        dim: usize,
        vectors: &[S::Elem],
        payloads: Option<&[u64]>,
    ) -> Self {
        match Self::build_interruptible(params, dim, vectors, payloads, &mut || false) {
            Ok(g) => g,
            Err(Cancelled) => unreachable!("a build without an interrupt hook is never cancelled"),
        }
    }

    /// [`Hnsw::build`] taking ownership of the vectors (prepared in place)
    /// and payloads.
    pub fn build_owned(
        params: &Params,
        dim: usize,
        v: Vec<S::Elem>,
        payloads: Option<Vec<u64>>,
    ) -> Self {
        match Self::build_owned_interruptible(params, dim, v, payloads, &mut || false) {
            Ok(g) => g,
            Err(Cancelled) => unreachable!("a build without an interrupt hook is never cancelled"),
        }
    }

    /// [`Hnsw::build`] that can be stopped: `interrupt` is called on the
    /// calling thread only, every [`POLL_INTERVAL`] while worker threads
    /// build (every few insertions in a one-thread build). Once it returns
    /// true, every worker stops after the insertion it is doing and the
    /// build returns `Err(Cancelled)`, typically within milliseconds. The
    /// hook never runs on a worker thread, so it may call into code that is
    /// not thread-safe (a database server's interrupt flags).
    pub fn build_interruptible(
        params: &Params,
        dim: usize,
        vectors: &[S::Elem],
        payloads: Option<&[u64]>,
        interrupt: &mut dyn FnMut() -> bool,
    ) -> Result<Self, Cancelled> {
        // Copied once, straight into the build's arrays.
        let n = vectors.len() / dim.max(1);
        let payloads = match payloads {
            Some(p) => Slab::copied_from(p),
            None => Slab::from_vec((0..n as u64).collect()),
        };
        Self::from_slabs(Self::build_slabs(params, dim, Slab::copied_from(vectors), payloads, None, interrupt))
    }

    /// [`Hnsw::build_owned`] with an interrupt hook, see
    /// [`Hnsw::build_interruptible`].
    pub fn build_owned_interruptible(
        params: &Params,
        dim: usize,
        v: Vec<S::Elem>,
        payloads: Option<Vec<u64>>,
        interrupt: &mut dyn FnMut() -> bool,
    ) -> Result<Self, Cancelled> {
        let n = v.len() / dim.max(1);
        let payloads = Slab::from_vec(payloads.unwrap_or_else(|| (0..n as u64).collect()));
        Self::from_slabs(Self::build_slabs(params, dim, Slab::from_vec(v), payloads, None, interrupt))
    }

    /// A heap build's outcome: it allocates no file, so it can only have
    /// been cancelled.
    fn from_slabs(built: Result<Self, BuildError>) -> Result<Self, Cancelled> {
        match built {
            Ok(g) => Ok(g),
            Err(BuildError::Cancelled) => Err(Cancelled),
            Err(BuildError::Spill(e)) => unreachable!("a build without a spill allocates no file: {e}"),
        }
    }

    /// [`Hnsw::build_owned_interruptible`] over vectors and payloads
    /// already in [`Slab`]s (mapped files, for a build larger than its
    /// memory budget), with the adjacency lists in `spill`'s files when
    /// given. `payloads` holds one per vector.
    pub fn build_slabs(
        params: &Params,
        dim: usize,
        mut v: Slab<S::Elem>,
        payloads: Slab<u64>,
        spill: Option<&Spill>,
        interrupt: &mut dyn FnMut() -> bool,
    ) -> Result<Self, BuildError> {
        assert!(
            dim > 0 && v.len() % dim == 0,
            "vectors length is not a multiple of dim"
        );
        let n = v.len() / dim;
        let mut stop = Stop::new(interrupt).counting(params);
        if S::PREPARES {
            // On the build's threads, in rounds of PREPARE_ROUND rows with a
            // poll between them (the hook runs on this thread only).
            let threads = params.threads();
            for round in v.chunks_mut(PREPARE_ROUND * dim) {
                if stop.requested() {
                    return Err(BuildError::Cancelled);
                }
                if threads == 1 {
                    round.chunks_exact_mut(dim).for_each(S::prepare);
                    continue;
                }
                let per = (round.len() / dim).div_ceil(threads).max(1) * dim;
                std::thread::scope(|sc| {
                    for part in round.chunks_mut(per) {
                        sc.spawn(move || part.chunks_exact_mut(dim).for_each(S::prepare));
                    }
                });
            }
        }
        assert_eq!(payloads.len(), n, "one payload per vector");
        let levels = (0..n)
            .map(|i| random_level(params.seed, i as u64, params.m))
            .collect();
        if stop.requested() {
            return Err(BuildError::Cancelled);
        }
        let mut g = Self::alloc(params, dim, v, payloads, levels, spill).map_err(BuildError::Spill)?;
        let codes = BuildCodes::train(&g, params.build_codes, spill, params.threads()).map_err(BuildError::Spill)?;
        g.kept_codes = g.insert_range(0, n as u32, None, params.threads(), codes, &mut stop)?;
        g.connect_stats = g.connect_interruptible(params.threads(), &mut stop)?;
        Ok(g)
    }

    /// Inserts nodes `from..to` (vectors, levels already in place) into the
    /// graph, on `threads` threads, starting from `entry`. Stops early with
    /// `Err(Cancelled)` when `stop` fires (the graph is then incomplete).
    /// Gives `codes` back for later searches.
    pub(crate) fn insert_range(
        &mut self,
        from: u32,
        to: u32,
        entry: Option<(u32, u8)>,
        threads: usize,
        codes: Option<BuildCodes>,
        stop: &mut Stop<'_>,
    ) -> Result<Option<BuildCodes>, Cancelled> {
        let entry = entry.or(self.entry);
        let threads = threads.clamp(1, ((to - from) as usize).max(1));
        let ctx = BuildCtx {
            locks: (0..self.len()).map(|_| Mutex::new(())).collect(),
            entry: Mutex::new(entry),
            next: AtomicU32::new(from),
            take: Mutex::new(()),
            inflight: if threads > 1 {
                (0..threads).map(|_| AtomicU32::new(u32::MAX)).collect()
            } else {
                Vec::new()
            },
            codes,
        };
        let this = &*self;
        let inserted = stop.inserted.clone();
        let count = |n: u64| {
            if let Some(c) = &inserted {
                c.fetch_add(n, Relaxed);
            }
        };
        if threads == 1 {
            let mut s = BuildScratch::default();
            for q in from..to {
                if (q - from) % POLL_EVERY == 0 && stop.requested() {
                    break;
                }
                this.insert_node(&ctx, q, 0, &mut s);
                count(1);
            }
        } else {
            stop.run_workers(threads, |slot, cancel| {
                let ctx = &ctx;
                let mut s = BuildScratch::default();
                loop {
                    let q = {
                        let _t = ctx.take.lock().unwrap();
                        let q = ctx.next.fetch_add(1, SeqCst);
                        if q >= to || cancel.load(Relaxed) {
                            ctx.inflight[slot].store(u32::MAX, SeqCst);
                            break;
                        }
                        ctx.inflight[slot].store(q, SeqCst);
                        s.peers.clear();
                        for (i, a) in ctx.inflight.iter().enumerate() {
                            let o = a.load(SeqCst);
                            if i != slot && o != u32::MAX {
                                s.peers.push(o);
                            }
                        }
                        q
                    };
                    this.insert_node(ctx, q, slot, &mut s);
                    count(1);
                }
            });
        }
        stop.result()?;
        self.entry = ctx.entry.into_inner().unwrap();
        // The copies serve the insertions only: the repair that follows and
        // the segment measure exact distances.
        Ok(ctx.codes.map(|c| BuildCodes { pairs: None, ..c }))
    }

    /// Asks the CPU for the cache lines of node `id`'s vector, at most its
    /// first `max_bytes` bytes.
    #[inline(always)]
    fn prefetch_vector_bytes(&self, id: u32, max_bytes: usize) {
        let i = id as usize * self.dim;
        if let Some(v) = self.vectors.get(i..i + self.dim) {
            crate::search::prefetch_bytes(v.as_ptr() as *const u8, std::mem::size_of_val(v).min(max_bytes));
        }
    }

    #[inline(always)]
    pub(crate) fn vector(&self, id: u32) -> &[S::Elem] {
        let i = id as usize * self.dim;
        &self.vectors[i..i + self.dim]
    }

    #[inline(always)]
    pub(crate) fn list(&self, id: u32, level: u8) -> &[AtomicU32] {
        if level == 0 {
            let w = self.m0 + 1;
            let i = id as usize * w;
            &self.links0[i..i + w]
        } else {
            let w = self.m + 1;
            let i = self.upper_off[id as usize] as usize + (level as usize - 1) * w;
            &self.upper[i..i + w]
        }
    }

    pub(crate) fn cap(&self, level: u8) -> usize {
        if level == 0 {
            self.m0
        } else {
            self.m
        }
    }

    /// Copies the list of `id` on `level` into `out`. Safe to call while
    /// other threads rewrite it: every slot holds a valid id.
    #[inline(always)]
    fn read_list(&self, id: u32, level: u8, out: &mut Vec<u32>) {
        let l = self.list(id, level);
        let n = (l[0].load(Acquire) as usize).min(l.len() - 1);
        out.clear();
        out.extend(l[1..=n].iter().map(|a| a.load(Relaxed)));
    }

    /// Overwrites a list; the caller holds the node's lock (or `&mut`).
    pub(crate) fn write_list(&self, id: u32, level: u8, ids: impl IntoIterator<Item = u32>) {
        let l = self.list(id, level);
        let mut n = 0;
        for x in ids {
            l[1 + n].store(x, Relaxed);
            n += 1;
        }
        l[0].store(n as u32, Release);
    }

    /// The HNSW neighbour-selection heuristic for the list of `base`: walks
    /// `cands` (ascending by distance to `base`) and keeps a candidate only
    /// if it is closer to the base than to every candidate kept so far, up
    /// to `m`. Exact copies of the base's vector take at most half the list
    /// (see [`Hnsw::extend_heuristic`]).
    pub(crate) fn select_heuristic(&self, base: u32, cands: &[Neighbour], m: usize, out: &mut Vec<Neighbour>, pairs: Option<&PairVectors>) {
        out.clear();
        self.extend_heuristic(base, cands, m, out, pairs);
    }

    /// The distance between nodes `a` and `b`: on `pairs`' copies when
    /// given (an insertion's, see [`crate::pairs`]), else exact.
    #[inline(always)]
    pub(crate) fn pair_distance(&self, pairs: Option<&PairVectors>, a: u32, b: u32) -> f32 {
        match pairs {
            Some(p) => p.distance(a, b),
            None => S::distance(self.vector(a), self.vector(b)),
        }
    }

    /// The heuristic continued from an already selected `out` (whose
    /// distances are not used). Distances between candidates are measured
    /// as [`Hnsw::pair_distance`] does with `pairs`, which must be how
    /// `cands`' distances were measured too.
    ///
    /// A copy of the base (same vector) ties with every kept copy, so the
    /// plain rule keeps them all, and in a group of more than `m` identical
    /// rows each list held nothing but copies: the group became a part of
    /// the graph with no edge out, and a search that entered it (e.g. for a
    /// query near that vector, whose descent ends there) could not leave
    /// (examples/bits_plateau: the 142 all-ones rows under cosine, about a
    /// quarter of the rows not in their own top 50). So copies fill at most
    /// half the list before the other candidates are offered; slots the
    /// heuristic leaves empty still go to the remaining copies.
    pub(crate) fn extend_heuristic(&self, base: u32, cands: &[Neighbour], m: usize, out: &mut Vec<Neighbour>, pairs: Option<&PairVectors>) {
        let bv = self.vector(base);
        // A copy lies exactly at the base's own distance, measured the way
        // its candidate distance was: on the copies, or exactly (an
        // insertion whose estimates were too coarse measured its results
        // exactly), so the filter takes the larger of the two.
        let self_d = self.pair_distance(pairs, base, base).max(S::distance(bv, bv));
        // The distance filter first: the comparison of whole vectors runs
        // only for candidates as near as the base is to itself.
        let is_copy = |c: &Neighbour| c.distance <= self_d && c.id != base && self.vector(c.id) == bv;
        let max_copies = m.div_ceil(2);
        let mut copies = out.iter().filter(|s| s.id != base && self.vector(s.id) == bv).count();
        let mut skipped = false;
        for c in cands {
            if out.len() >= m {
                break;
            }
            if is_copy(c) {
                if copies >= max_copies {
                    skipped = true;
                    continue;
                }
                copies += 1;
            }
            let good = out.iter().all(|s| self.pair_distance(pairs, c.id, s.id) >= c.distance);
            if good {
                out.push(*c);
            }
        }
        if skipped {
            for c in cands {
                if out.len() >= m {
                    break;
                }
                if is_copy(c) && !out.iter().any(|s| s.id == c.id) {
                    out.push(*c);
                }
            }
        }
    }

    /// Inserts node `q` (its vector and level are in place).
    ///
    /// In a parallel build, nodes inserted at the same time cannot find each
    /// other through the graph (neither is linked yet, and nodes linked only
    /// to a node still being inserted are not reachable either), and where
    /// the heuristic keeps very few edges (low-dimensional data) such a
    /// missed edge is not made up by others. So `q`'s layer searches also
    /// start from the nodes other threads were inserting when it started or
    /// are inserting now, and from those started after it; and a node's own
    /// list is merged with links others added to it meanwhile, never
    /// overwritten. With one thread none of this applies.
    pub(crate) fn insert_node(&self, ctx: &BuildCtx, q: u32, slot: usize, s: &mut BuildScratch) {
        self.insert_node_above(ctx, q, slot, s, 0)
    }

    /// [`Hnsw::insert_node`] on the layers from `lowest` up only.
    fn insert_node_above(&self, ctx: &BuildCtx, q: u32, slot: usize, s: &mut BuildScratch, lowest: u8) {
        let level = self.levels[q as usize];
        // `s.peers` was filled when `q` was taken (parallel builds only).
        let mut guard = ctx.entry.lock().unwrap();
        let Some((ep, top)) = *guard else {
            *guard = Some((q, level));
            return;
        };
        let raise = level > top;
        let held = if raise {
            Some(guard)
        } else {
            drop(guard);
            None
        };
        let qv = self.vector(q);
        // The estimator of distances from `q`, for the descent and the
        // layer-0 search.
        let est = ctx.codes.as_ref().map(|codes| {
            code_input::<S>(qv, &mut s.code_query);
            codes.quantizer.query(S::METRIC, &s.code_query)
        });
        let pairs = ctx.codes.as_ref().and_then(BuildCodes::pairs);
        let mut nbrs = std::mem::take(&mut s.search.nbrs);
        let (mut cur, _) = match (&ctx.codes, &est) {
            _ if top <= level => (ep, 0.0),
            (Some(codes), Some(est)) => descend_coded::<_, S>(self, qv, ep, top, level, &mut nbrs, codes.array(), est),
            _ => descend::<_, S>(self, qv, ep, top, level, &mut nbrs),
        };
        s.search.nbrs = nbrs;
        for lc in (lowest..=level.min(top)).rev() {
            self.entries_for(ctx, q, slot, lc, cur, s);
            match (&ctx.codes, &est) {
                (Some(codes), Some(est)) => {
                    search_layer_estimated::<_, S>(
                        self,
                        qv,
                        &s.entries,
                        lc,
                        self.ef_construction,
                        Some(q),
                        codes.array(),
                        est,
                        pairs,
                        &mut s.search,
                    );
                }
                _ => search_layer::<_, S>(
                    self,
                    qv,
                    &s.entries,
                    lc,
                    self.ef_construction,
                    false,
                    Some(q),
                    &mut s.search,
                ),
            }
            if let Some(first) = s.search.out.first() {
                cur = first.id;
            }
            let cap_q = self.m;
            let mut selected = std::mem::take(&mut s.selected);
            self.select_heuristic(q, &s.search.out, cap_q, &mut selected, pairs);
            self.write_own_list(ctx, q, lc, &selected, s);
            for nb in &selected {
                self.add_link(ctx, nb.id, q, nb.distance, lc, s);
            }
            s.selected = selected;
        }
        if let Some(mut g) = held {
            *g = Some((q, level));
        }
    }

    /// Entry points for `q`'s search of layer `lc`: `cur`, plus in a
    /// parallel build the concurrently inserted nodes (see
    /// [`Hnsw::insert_node`]) that reach the layer.
    fn entries_for(
        &self,
        ctx: &BuildCtx,
        q: u32,
        slot: usize,
        lc: u8,
        cur: u32,
        s: &mut BuildScratch,
    ) {
        s.entries.clear();
        s.entries.push(cur);
        if ctx.inflight.is_empty() {
            return;
        }
        let later_end = ctx
            .next
            .load(SeqCst)
            .min(q.saturating_add(1 + MAX_LATER_PEERS))
            .min(self.len() as u32);
        let now = ctx
            .inflight
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != slot)
            .map(|(_, a)| a.load(SeqCst));
        let cands = s.peers.iter().copied().chain(now).chain(q + 1..later_end);
        for o in cands {
            if o != u32::MAX && o != q && self.levels[o as usize] >= lc && !s.entries.contains(&o) {
                s.entries.push(o);
            }
        }
    }

    /// Writes `q`'s own list on `level`, keeping any links other threads
    /// added to it meanwhile (pruned with the heuristic beyond capacity).
    fn write_own_list(
        &self,
        ctx: &BuildCtx,
        q: u32,
        level: u8,
        selected: &[Neighbour],
        s: &mut BuildScratch,
    ) {
        let _l = ctx.locks[q as usize].lock().unwrap();
        let l = self.list(q, level);
        let cap = self.cap(level);
        let cnt = (l[0].load(Relaxed) as usize).min(cap);
        if cnt == 0 {
            self.write_list(q, level, selected.iter().map(|x| x.id));
            return;
        }
        let pairs = ctx.codes.as_ref().and_then(BuildCodes::pairs);
        s.cands.clear();
        s.cands.extend_from_slice(selected);
        for a in &l[1..=cnt] {
            let id = a.load(Relaxed);
            if !s.cands.iter().any(|x| x.id == id) {
                s.cands.push(Neighbour {
                    id,
                    distance: self.pair_distance(pairs, q, id),
                });
            }
        }
        if s.cands.len() <= cap {
            self.write_list(q, level, s.cands.iter().map(|x| x.id));
        } else {
            s.cands
                .sort_unstable_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
            let mut kept = std::mem::take(&mut s.pruned);
            self.select_heuristic(q, &s.cands, cap, &mut kept, pairs);
            self.write_list(q, level, kept.iter().map(|x| x.id));
            s.pruned = kept;
        }
    }

    /// Adds `q` (at distance `d`) to the list of `n` on `level`, pruning with
    /// the heuristic when the list is full.
    fn add_link(&self, ctx: &BuildCtx, n: u32, q: u32, d: f32, level: u8, s: &mut BuildScratch) {
        let _l = ctx.locks[n as usize].lock().unwrap();
        let cap = self.cap(level);
        let l = self.list(n, level);
        let cnt = (l[0].load(Relaxed) as usize).min(cap);
        if l[1..=cnt].iter().any(|a| a.load(Relaxed) == q) {
            return;
        }
        if cnt < cap {
            l[1 + cnt].store(q, Relaxed);
            l[0].store(cnt as u32 + 1, Release);
            return;
        }
        let pairs = ctx.codes.as_ref().and_then(BuildCodes::pairs);
        s.cands.clear();
        s.cands.push(Neighbour { id: q, distance: d });
        for a in &l[1..=cnt] {
            let id = a.load(Relaxed);
            s.cands.push(Neighbour {
                id,
                distance: self.pair_distance(pairs, n, id),
            });
        }
        s.cands
            .sort_unstable_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
        let mut kept = std::mem::take(&mut s.pruned);
        self.select_heuristic(n, &s.cands, cap, &mut kept, pairs);
        self.write_list(n, level, kept.iter().map(|x| x.id));
        s.pruned = kept;
    }

    /// What the reachability repair of the build or merge that made this
    /// graph found (unreachable nodes per layer before and after) and did.
    pub fn connect_stats(&self) -> &ConnectStats {
        &self.connect_stats
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.levels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }
    /// Elements per vector.
    pub fn dim(&self) -> usize {
        self.dim
    }
    pub fn m(&self) -> usize {
        self.m
    }
    pub fn ef_construction(&self) -> usize {
        self.ef_construction
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Vector of a node as stored (prepared for the space).
    pub fn stored_vector(&self, id: u32) -> &[S::Elem] {
        self.vector(id)
    }
    pub fn node_payload(&self, id: u32) -> u64 {
        self.payloads[id as usize]
    }
    pub fn node_level(&self, id: u32) -> u8 {
        self.levels[id as usize]
    }
    /// Neighbours of `id` on `level`.
    pub fn neighbour_ids(&self, id: u32, level: u8) -> Vec<u32> {
        let mut v = Vec::new();
        self.read_list(id, level, &mut v);
        v
    }

    /// Replaces a neighbour list (tests and tools: e.g. to cut a graph).
    pub fn write_list_for_test(&mut self, id: u32, level: u8, ids: &[u32]) {
        assert!(ids.len() <= self.cap(level) && ids.iter().all(|&x| (x as usize) < self.len()));
        self.write_list(id, level, ids.iter().copied());
    }

    /// Marks a node deleted: searches still traverse it but never return it,
    /// and [`crate::merge`] drops it.
    pub fn mark_deleted(&self, id: u32) {
        self.deleted[id as usize].store(1, Relaxed);
        self.any_deleted.store(true, Relaxed);
    }
    pub fn is_deleted(&self, id: u32) -> bool {
        self.deleted[id as usize].load(Relaxed) != 0
    }
    pub fn deleted_count(&self) -> usize {
        self.deleted.iter().filter(|d| d.load(Relaxed) != 0).count()
    }

    /// Top-`k` search with width `ef`.
    pub fn search(&self, query: &[S::Elem], k: usize, ef: usize) -> Vec<Neighbour> {
        let mut s = SearchScratch::new();
        self.search_with(query, k, ef, &mut s)
    }

    /// Top-`k` search reusing `scratch` (no allocation beyond the result).
    pub fn search_with(
        &self,
        query: &[S::Elem],
        k: usize,
        ef: usize,
        scratch: &mut SearchScratch,
    ) -> Vec<Neighbour> {
        crate::search::search::<_, S>(self, query, k, ef, scratch)
    }

    /// Streaming search: see [`crate::stream::StreamingSearch`].
    pub fn search_stream(
        &self,
        query: &[S::Elem],
        ef: usize,
    ) -> crate::stream::StreamingSearch<&Self, S> {
        crate::stream::StreamingSearch::new(self, query, ef)
    }

    /// Exact bytes held by the graph's arrays.
    pub fn memory_bytes(&self) -> usize {
        self.vectors.len() * std::mem::size_of::<S::Elem>()
            + self.payloads.len() * 8
            + self.levels.len()
            + self.links0.len() * 4
            + self.upper_off.len() * 4
            + self.upper.len() * 4
            + self.deleted.len()
    }
}

impl<S: Space> GraphView for Hnsw<S> {
    type Elem = S::Elem;
    #[inline(always)]
    fn len(&self) -> u32 {
        self.levels.len() as u32
    }
    #[inline(always)]
    fn entry_point(&self) -> Option<(u32, u8)> {
        self.entry
    }
    #[inline(always)]
    fn vector_len(&self) -> usize {
        self.dim
    }
    #[inline(always)]
    fn level(&self, id: u32) -> u8 {
        self.levels[id as usize]
    }
    #[inline(always)]
    fn neighbours(&self, id: u32, level: u8, out: &mut Vec<u32>) {
        self.read_list(id, level, out)
    }
    #[inline(always)]
    fn with_node<R>(&self, id: u32, f: impl FnOnce(&[S::Elem], bool) -> R) -> R {
        let del = self.any_deleted.load(Relaxed) && self.deleted[id as usize].load(Relaxed) != 0;
        f(self.vector(id), del)
    }
    #[inline(always)]
    fn payload(&self, id: u32) -> u64 {
        self.payloads[id as usize]
    }
    #[inline(always)]
    fn prefetch(&self, id: u32) {
        self.prefetch_vector_bytes(id, 256);
    }
    #[inline(always)]
    fn prefetch_vector(&self, id: u32) {
        self.prefetch_vector_bytes(id, usize::MAX);
    }
    #[inline(always)]
    fn prefetch_links(&self, id: u32) {
        let i = id as usize * (self.m0 + 1);
        if let Some(l) = self.links0.get(i..i + self.m0 + 1) {
            let p = l.as_ptr() as *const u8;
            crate::search::prefetch_ptr(p);
            crate::search::prefetch_ptr(p.wrapping_add(64));
        }
    }
    #[inline(always)]
    fn prefetch_links_all(&self, id: u32) {
        let i = id as usize * (self.m0 + 1);
        if let Some(l) = self.links0.get(i..i + self.m0 + 1) {
            // Every line of the list, the last one included: at m = 16 a
            // list is 132 bytes, so it always reaches into a third line.
            crate::search::prefetch_bytes(l.as_ptr() as *const u8, std::mem::size_of_val(l));
        }
    }
}

#[cfg(test)]
mod estimated_search_tests {
    use super::*;
    use crate::search::{search_layer, GraphView};
    use crate::space::L2F32;
    use std::cell::Cell;

    /// A graph that counts the vectors read through it.
    struct Counting<'a> {
        g: &'a Hnsw<L2F32>,
        reads: Cell<usize>,
    }

    impl GraphView for Counting<'_> {
        type Elem = f32;
        fn len(&self) -> u32 {
            GraphView::len(self.g)
        }
        fn entry_point(&self) -> Option<(u32, u8)> {
            GraphView::entry_point(self.g)
        }
        fn vector_len(&self) -> usize {
            GraphView::vector_len(self.g)
        }
        fn level(&self, id: u32) -> u8 {
            GraphView::level(self.g, id)
        }
        fn neighbours(&self, id: u32, level: u8, out: &mut Vec<u32>) {
            GraphView::neighbours(self.g, id, level, out)
        }
        fn with_node<R>(&self, id: u32, f: impl FnOnce(&[f32], bool) -> R) -> R {
            self.reads.set(self.reads.get() + 1);
            GraphView::with_node(self.g, id, f)
        }
        fn payload(&self, id: u32) -> u64 {
            GraphView::payload(self.g, id)
        }
    }

    /// Eight clusters of six intrinsic dimensions (so that near rows are
    /// clearly nearer than the rest, as in real embeddings), a few rows far
    /// from all of them, and ten copies of one row.
    fn data(n: usize, dim: usize) -> Vec<f32> {
        let mut s = 0x5eed_u64;
        let mut r = || (splitmix64({ s += 1; s }) >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        let centres: Vec<f32> = (0..8 * dim).map(|_| 16.0 * r()).collect();
        let basis: Vec<f32> = (0..6 * dim).map(|_| r()).collect();
        let mut v = Vec::with_capacity(n * dim);
        for i in 0..n {
            let c = i % 8;
            let a: Vec<f32> = (0..6).map(|_| 8.0 * r()).collect();
            let far = if i % 97 == 0 { 40.0 } else { 0.0 };
            for j in 0..dim {
                let on: f32 = (0..6).map(|k| a[k] * basis[k * dim + j]).sum();
                v.push(centres[c * dim + j] + on + 0.05 * r() + far);
            }
        }
        let copy = v[..dim].to_vec();
        for i in 1..=10 {
            v[(n - i) * dim..(n - i + 1) * dim].copy_from_slice(&copy);
        }
        v
    }

    /// The construction's search on codes reads the vectors of its results
    /// only, returns them with exact distances ascending, never returns
    /// the excluded node, and finds nearly what the exact search finds:
    /// with the codes the access method builds on, RaBitQ4 above 128
    /// dimensions and SQ8 at 50.
    #[test]
    fn reads_only_its_results_and_finds_what_the_exact_search_finds() {
        for (kind, dim) in [(CodeKind::RaBitQ4, 160), (CodeKind::Sq8, 50)] {
            let (n, ef) = (3000, 32);
            let v = data(n, dim);
            let params = Params { threads: 1, ef_construction: 64, build_codes: Some(kind), ..Params::default() };
            let g = Hnsw::<L2F32>::build(&params, dim, &v, None);
            let codes = BuildCodes::train(&g, Some(kind), None, 1).unwrap().unwrap();
            let counting = Counting { g: &g, reads: Cell::new(0) };
            let (ep, _) = GraphView::entry_point(&g).unwrap();
            let (mut s, mut exact) = (SearchScratch::new(), SearchScratch::new());
            let (mut found, mut wanted) = (0, 0);
            for q in (0..n as u32).step_by(37) {
                let qv = g.vector(q).to_vec();
                let est = codes.estimator::<L2F32>(&qv);
                counting.reads.set(0);
                let trusted = search_layer_estimated::<_, L2F32>(&counting, &qv, &[ep], 0, ef, Some(q), codes.array(), &est, None, &mut s);
                assert!(trusted, "{kind:?}, query {q}: estimates judged too coarse");
                assert_eq!(counting.reads.get(), s.out.len(), "{kind:?}, query {q}: vectors read besides the results'");
                assert_eq!(s.out.len(), ef, "{kind:?}, query {q}");
                assert!(s.out.iter().all(|x| x.id != q), "{kind:?}, query {q}: the excluded node was returned");
                for w in s.out.windows(2) {
                    assert!(w[0].distance <= w[1].distance, "{kind:?}, query {q}: not ascending");
                }
                for x in &s.out {
                    assert_eq!(x.distance, L2F32::distance(&qv, g.vector(x.id)), "{kind:?}, query {q}: not the exact distance");
                }
                search_layer::<_, L2F32>(&g, &qv, &[ep], 0, ef, false, Some(q), &mut exact);
                // The exact search's nearest half: what the neighbour
                // selection keeps (m of ef_construction) comes from there.
                let want: Vec<u32> = exact.out.iter().take(ef / 2).map(|x| x.id).collect();
                found += want.iter().filter(|&&w| s.out.iter().any(|x| x.id == w)).count();
                wanted += want.len();
            }
            // RaBitQ4 0.963 when written, SQ8 1.000 (a random order of
            // the results would give about 0.5; estimates unrelated to the
            // distances, almost 0).
            let overlap = found as f64 / wanted as f64;
            assert!(overlap >= 0.93, "{kind:?}: the search on codes found {overlap:.3} of the exact search's nearest half");
        }
    }

    /// Codes too coarse for the data (SQ8 over two clusters a million
    /// apart: one level spans 4,000 in every dimension, far more than a
    /// cluster) are caught: the search reports its estimates untrusted, so
    /// the insertion searches again measuring every node it takes.
    #[test]
    fn estimates_too_coarse_for_the_data_are_not_trusted() {
        let dim = 8;
        let mut v = data(2000, dim);
        v.extend(data(2000, dim).iter().map(|x| x + 1e6));
        let params = Params { threads: 1, ef_construction: 64, ..Params::default() };
        let g = Hnsw::<L2F32>::build(&params, dim, &v, None);
        let codes = BuildCodes::train(&g, Some(CodeKind::Sq8), None, 1).unwrap().unwrap();
        let (ep, _) = GraphView::entry_point(&g).unwrap();
        let mut s = SearchScratch::new();
        let untrusted = (0..4000u32)
            .step_by(101)
            .filter(|&q| {
                let qv = g.vector(q).to_vec();
                let est = codes.estimator::<L2F32>(&qv);
                !search_layer_estimated::<_, L2F32>(&g, &qv, &[ep], 0, 32, Some(q), codes.array(), &est, None, &mut s)
            })
            .count();
        assert_eq!(untrusted, 40, "searches judged trustworthy on codes that cannot tell a cluster's rows apart");
    }
}

#[cfg(test)]
mod prepare_tests {
    use super::*;
    use crate::space::CosineF32;

    /// A cosine build normalises every row on its threads exactly as one
    /// thread does, over more than one round and a split that does not
    /// divide evenly: rows far out, a zero row (left as it is) and copies.
    #[test]
    fn every_row_is_prepared_as_on_one_thread() {
        let (n, dim) = (PREPARE_ROUND + 777, 8);
        let mut v: Vec<f32> = (0..n * dim)
            .map(|i| (splitmix64(i as u64) >> 40) as f32 / (1u64 << 20) as f32 - 8.0)
            .collect();
        v[..dim].iter_mut().for_each(|x| *x *= 1e6);
        v[dim..2 * dim].fill(0.0);
        let copy = v[2 * dim..3 * dim].to_vec();
        v[(n - 1) * dim..].copy_from_slice(&copy);
        let build = |threads| {
            let params = Params { threads, ef_construction: 16, ..Params::default() };
            Hnsw::<CosineF32>::build(&params, dim, &v, None)
        };
        let (one, two) = (build(1), build(2));
        for id in 0..n as u32 {
            assert_eq!(one.stored_vector(id), two.stored_vector(id), "row {id}");
            let norm: f32 = two.stored_vector(id).iter().map(|x| x * x).sum::<f32>().sqrt();
            let want = if id == 1 { 0.0 } else { 1.0 };
            assert!((norm - want).abs() < 1e-5, "row {id}: norm {norm}");
        }
    }
}

#[cfg(test)]
mod cancel_tests {
    use super::*;
    use crate::search::GraphView;
    use crate::space::L2F32;
    use std::time::Instant;

    fn random_vectors(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        (0..n * dim)
            .map(|i| (splitmix64(seed ^ i as u64) >> 40) as f32 / (1u64 << 24) as f32)
            .collect()
    }

    /// A build that would take several seconds stops within a few
    /// milliseconds of its hook firing, on any number of threads, and the
    /// hook only ever runs on the calling thread.
    #[test]
    fn build_stops_soon_after_the_hook_fires() {
        let dim = 48;
        let data = random_vectors(40_000, dim, 7);
        for threads in [1, 2, 4] {
            let params = Params { threads, ef_construction: 400, ..Params::default() };
            let caller = std::thread::current().id();
            let start = Instant::now();
            let mut fired_at = None;
            let mut polls = 0;
            let r = Hnsw::<L2F32>::build_interruptible(&params, dim, &data, None, &mut || {
                assert_eq!(std::thread::current().id(), caller, "the hook ran on a worker thread");
                polls += 1;
                if start.elapsed() >= Duration::from_millis(300) {
                    fired_at.get_or_insert_with(Instant::now);
                    true
                } else {
                    false
                }
            });
            assert_eq!(r.err(), Some(Cancelled), "{threads} threads: the build finished before the hook fired");
            let late = fired_at.expect("hook fired").elapsed();
            assert!(late < Duration::from_millis(250), "{threads} threads: stopped {late:?} after the hook fired");
            assert!(polls >= 2, "{threads} threads: hook polled {polls} times");
        }
    }

    /// A hook that never fires changes nothing: a one-thread build is
    /// deterministic, so the graphs are identical.
    #[test]
    fn a_silent_hook_builds_the_same_graph() {
        let dim = 8;
        let data = random_vectors(2000, dim, 3);
        let params = Params { threads: 1, ..Params::default() };
        let a = Hnsw::<L2F32>::build(&params, dim, &data, None);
        let mut polls = 0;
        let b = Hnsw::<L2F32>::build_interruptible(&params, dim, &data, None, &mut || {
            polls += 1;
            false
        })
        .unwrap();
        assert!(polls > 2000 / POLL_EVERY as usize / 2);
        assert_eq!(a.entry_point(), b.entry_point());
        for id in 0..a.len() as u32 {
            for l in 0..=a.node_level(id) {
                assert_eq!(a.neighbour_ids(id, l), b.neighbour_ids(id, l));
            }
        }
    }

    /// A merge (repairs and insertions) stops as promptly as a build.
    #[test]
    fn merge_stops_soon_after_the_hook_fires() {
        let dim = 48;
        let base = random_vectors(3000, dim, 5);
        let params = Params { threads: 2, ef_construction: 400, ..Params::default() };
        let old = Hnsw::<L2F32>::build(&Params { threads: 2, ..Params::default() }, dim, &base, None);
        for id in (0..3000).step_by(3) {
            old.mark_deleted(id);
        }
        let extra = random_vectors(40_000, dim, 9);
        let start = Instant::now();
        let mut fired_at = None;
        let r = crate::merge::merge_interruptible::<_, L2F32>(&old, &params, &extra, None, &mut || {
            if start.elapsed() >= Duration::from_millis(300) {
                fired_at.get_or_insert_with(Instant::now);
                true
            } else {
                false
            }
        });
        assert!(r.is_err(), "the merge finished before the hook fired");
        let late = fired_at.expect("hook fired").elapsed();
        assert!(late < Duration::from_millis(250), "stopped {late:?} after the hook fired");
        // Fired before anything: cancelled at once.
        let r = crate::merge::merge_interruptible::<_, L2F32>(&old, &params, &extra, None, &mut || true);
        assert!(r.is_err());
    }

    /// A panic on a worker thread stops the other workers and reaches the
    /// caller (where the access method turns it into an ERROR).
    #[test]
    fn a_worker_panic_reaches_the_caller() {
        let mut hook = || false;
        let mut stop = Stop::new(&mut hook);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            stop.run_workers(2, |slot, flag| {
                if slot == 0 {
                    panic!("boom");
                }
                while !flag.load(SeqCst) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        }));
        assert!(r.is_err());
    }
}
