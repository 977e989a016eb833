//! Fixed-length arrays of a graph under construction, held either on the
//! heap or in a temporary file mapped into memory (a *spill*).
//!
//! A build's vectors and adjacency lists are most of its memory (about
//! `d * e + 151` bytes per vector, see [`crate::graph`]). When a caller's
//! memory budget cannot hold them, it gives the build a [`Spill`]: the large
//! arrays then live in temporary files, read and written through a shared
//! mapping, as a sort that outgrows its memory writes runs to temporary
//! files. The operating system's page cache keeps what it can of them in
//! memory, so while it holds the files the build runs at close to the speed
//! of an in-memory one (GloVe-50, 399k rows: 47 and 43 s against 57 and 54 s
//! in `examples/spill_bench.rs`; 32.9 against 27.8 s through CREATE INDEX);
//! beyond that the kernel writes pages back to the file
//! instead of the process running out of memory. The build's own memory is
//! then a few bytes per vector (levels, offsets, locks).
//!
//! Space in the file system is reserved when a file is created
//! (`posix_fallocate`), so a full disk is an error at that point, never a
//! fault while the build writes through the mapping. The files are unlinked
//! as soon as they are created: nothing is left behind by a crash.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

use crate::space::Element;

/// Types for which every bit pattern, including all zeroes, is a valid
/// value, and which have no padding: a mapped file's bytes can be read as
/// them.
///
/// # Safety
/// Implement only for such types.
pub unsafe trait Plain: Sized + Send + Sync + 'static {}

// SAFETY: elements are sealed to f32, f16, u64 and u8 (see `Element`).
unsafe impl<E: Element> Plain for E {}
// SAFETY: an AtomicU32 has the layout of a u32.
unsafe impl Plain for AtomicU32 {}
// SAFETY: every bit pattern is a u16 (the bf16 copies of crate::pairs).
unsafe impl Plain for u16 {}

/// Where and how much a build may spill: a directory for its temporary
/// files, a prefix for their names, and an optional limit on their total
/// size (PostgreSQL's `temp_file_limit`).
#[derive(Debug)]
pub struct Spill {
    dir: PathBuf,
    prefix: String,
    limit: Option<u64>,
    /// Bytes reserved by files this spill created (freed files included:
    /// the limit bounds the total, as a conservative reading).
    used: AtomicU64,
    files: AtomicU32,
}

impl Spill {
    /// A spill into `dir` (created if missing), files named `prefix.N`.
    pub fn new(dir: impl Into<PathBuf>, prefix: impl Into<String>, limit: Option<u64>) -> Self {
        Spill { dir: dir.into(), prefix: prefix.into(), limit, used: AtomicU64::new(0), files: AtomicU32::new(0) }
    }

    /// Bytes reserved so far.
    pub fn used(&self) -> u64 {
        self.used.load(Relaxed)
    }

    /// Whether `bytes` more fit under the limit.
    pub fn fits(&self, bytes: u64) -> bool {
        self.limit.is_none_or(|l| self.used().saturating_add(bytes) <= l)
    }

    /// Counts `bytes` written to this spill's files outside [`Self::file`]
    /// (files that grew by writes) toward [`Self::used`] and the limit.
    pub fn charge(&self, bytes: u64) {
        self.used.fetch_add(bytes, Relaxed);
    }

    /// A new, already unlinked temporary file with `bytes` reserved.
    pub fn file(&self, bytes: u64) -> io::Result<File> {
        if !self.fits(bytes) {
            return Err(io::Error::new(
                io::ErrorKind::QuotaExceeded,
                format!("{} more bytes of temporary files would exceed the limit of {}", bytes, self.limit.unwrap_or(0)),
            ));
        }
        std::fs::create_dir_all(&self.dir)?;
        let n = self.files.fetch_add(1, Relaxed);
        let path = self.dir.join(format!("{}.{n}", self.prefix));
        let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
        std::fs::remove_file(&path)?;
        reserve(&file, bytes)?;
        self.used.fetch_add(bytes, Relaxed);
        Ok(file)
    }
}

/// Reserves `bytes` of disk space for `file` (and sets its length to at
/// least that).
fn reserve(file: &File, bytes: u64) -> io::Result<()> {
    if bytes == 0 {
        return Ok(());
    }
    let len = libc::off_t::try_from(bytes).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid open descriptor; fallocate only changes the file.
    match unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) } {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

/// Heap arrays at least this large are asked to live in transparent huge
/// pages: a build reads its vectors and lists at random, and with 4 kB pages
/// nearly every read of a large graph also misses the TLB (GloVe-50, 399k
/// rows, 2 threads, alternating runs: 13.5-13.6 s with 4 kB pages, 12.0-12.3 s with huge pages).
const HUGE_PAGE_MIN_BYTES: usize = 8 << 20;
const HUGE_PAGE: usize = 2 << 20;

/// `madvise(MADV_HUGEPAGE)` on the whole 2 MB pages inside `bytes` bytes at
/// `ptr`, for memory not yet written (the advice applies from each page's
/// first write). Advice only: the kernel may refuse it (THP off) and
/// nothing changes but speed.
fn advise_huge_pages(ptr: *const u8, bytes: usize) {
    #[cfg(target_os = "linux")]
    {
        if bytes < HUGE_PAGE_MIN_BYTES {
            return;
        }
        let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
        let end = (ptr as usize + bytes) / HUGE_PAGE * HUGE_PAGE;
        if end <= start {
            return;
        }
        // SAFETY: advice on pages of an allocation this slab owns; it does
        // not change their contents.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, bytes);
}

/// Gives the whole pages inside `src` back to the kernel: their contents
/// become zeroes. Only for memory about to be freed, whose contents are no
/// longer needed.
fn release_pages<T>(src: &mut [T]) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = (src.as_ptr() as usize).next_multiple_of(PAGE);
        let end = (src.as_ptr() as usize + std::mem::size_of_val(src)) / PAGE * PAGE;
        if end > start {
            // SAFETY: whole pages of an allocation the caller owns and no
            // longer reads; anonymous memory reads back as zeroes after it,
            // which every `Plain` type allows.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = src;
}

/// A fixed-length array of `T`, on the heap or in a mapped file.
pub struct Slab<T: Plain> {
    ptr: *mut T,
    len: usize,
    heap: Option<Box<[T]>>,
    /// Bytes mapped (0 on the heap): `len` may shrink below it, see
    /// [`Slab::truncate`].
    mapped: usize,
}

// SAFETY: a Slab owns its elements like a Box<[T]> does (a mapping is
// private to the Slab); sharing follows T's own rules.
unsafe impl<T: Plain> Send for Slab<T> {}
unsafe impl<T: Plain> Sync for Slab<T> {}

impl<T: Plain> Slab<T> {
    /// `len` zeroed elements: in a new file of `spill` if given, else on the
    /// heap.
    pub fn zeroed(len: usize, spill: Option<&Spill>) -> io::Result<Self> {
        match spill {
            None => {
                let b: Box<[std::mem::MaybeUninit<T>]> = Box::new_zeroed_slice(len);
                // Large zeroed allocations come untouched from the kernel,
                // so the advice applies from their first write.
                advise_huge_pages(b.as_ptr().cast(), len * size_of::<T>());
                // SAFETY: all zeroes is a valid T (`Plain`).
                Ok(Self::from_box(unsafe { b.assume_init() }))
            }
            Some(s) => {
                let bytes = len.checked_mul(size_of::<T>()).ok_or(io::ErrorKind::InvalidInput)?;
                let f = s.file(bytes as u64)?;
                Self::map(&f, len)
            }
        }
    }

    /// The first `len` elements stored in `file` (which must hold at least
    /// `len * size_of::<T>()` bytes), mapped for reading and writing:
    /// writes go to the file.
    pub fn map(file: &File, len: usize) -> io::Result<Self> {
        let bytes = len.checked_mul(size_of::<T>()).ok_or(io::ErrorKind::InvalidInput)?;
        if bytes == 0 {
            return Ok(Self::from_box(Box::new([])));
        }
        if file.metadata()?.len() < bytes as u64 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "spill file shorter than its array"));
        }
        // SAFETY: a fresh shared mapping of an open file, checked long
        // enough; the mapping outlives the descriptor.
        let p = unsafe {
            libc::mmap(std::ptr::null_mut(), bytes, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, file.as_raw_fd(), 0)
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Slab { ptr: p.cast(), len, heap: None, mapped: bytes })
    }

    /// The elements of `v` in a slab. A large array is copied into fresh
    /// memory advised into huge pages, whose pages the copy faults in 2 MB
    /// at a time, and `v`'s pages are given back as they are copied (so
    /// the two copies never coexist whole). Asking the kernel to move `v`
    /// itself (`MADV_COLLAPSE`) cost far more: 0.15 s of a 2 s MiniLM
    /// CREATE INDEX (70 MB), with the build's other thread idle.
    pub fn from_vec(mut v: Vec<T>) -> Self {
        if v.len() * size_of::<T>() < HUGE_PAGE_MIN_BYTES {
            return Self::from_box(v.into_boxed_slice());
        }
        let mut s = Self::zeroed(v.len(), None).expect("a heap slab is allocated or aborts");
        let chunk = (HUGE_PAGE / size_of::<T>()).max(1);
        for (dst, src) in s.chunks_mut(chunk).zip(v.chunks_mut(chunk)) {
            // SAFETY: equal lengths (the same chunking of equal lengths),
            // distinct allocations; a bitwise copy of a `Plain` value is one.
            unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr(), src.len()) };
            release_pages(src);
        }
        s
    }

    /// A copy of `src` in a slab, in huge pages when large.
    pub fn copied_from(src: &[T]) -> Self {
        // SAFETY: `src`'s bytes, in T's layout (`Plain`: no padding).
        Self::copied_from_bytes(unsafe { std::slice::from_raw_parts(src.as_ptr().cast::<u8>(), std::mem::size_of_val(src)) })
    }

    /// A copy of `bytes` (a whole number of `T`s, in `T`'s byte layout) in a
    /// slab, in huge pages when large: for vectors collected as bytes.
    pub fn copied_from_bytes(bytes: &[u8]) -> Self {
        assert_eq!(bytes.len() % size_of::<T>(), 0, "bytes are not a whole number of elements");
        let mut s = Self::zeroed(bytes.len() / size_of::<T>(), None).expect("a heap slab is allocated or aborts");
        // SAFETY: the slab's elements are exactly bytes.len() bytes, not
        // overlapping `bytes`; every bit pattern is a valid T (`Plain`).
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), s.as_mut_ptr().cast::<u8>(), bytes.len()) };
        s
    }

    fn from_box(mut b: Box<[T]>) -> Self {
        Slab { ptr: b.as_mut_ptr(), len: b.len(), heap: Some(b), mapped: 0 }
    }

    /// Whether the elements live in a mapped file.
    pub fn is_mapped(&self) -> bool {
        self.heap.is_none()
    }

    /// Bytes of process memory (heap) the slab holds.
    pub fn heap_bytes(&self) -> usize {
        self.heap.as_ref().map_or(0, |b| b.len() * size_of::<T>())
    }

    /// Shortens the slab to its first `len` elements (no effect when it is
    /// not longer). The memory or file space stays reserved until the slab
    /// is dropped: for an array sized by an upper bound, filled, then cut.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

impl<T: Plain> std::ops::Deref for Slab<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: ptr/len describe the box or the mapping this slab owns.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<T: Plain> std::ops::DerefMut for Slab<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in deref, and `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl<T: Plain> Drop for Slab<T> {
    fn drop(&mut self) {
        if self.heap.is_none() {
            // SAFETY: the mapping made in `map`, unmapped once.
            unsafe { libc::munmap(self.ptr.cast(), self.mapped) };
        }
    }
}

impl<T: Plain> std::fmt::Debug for Slab<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Slab({} x {}, {})", self.len, std::any::type_name::<T>(), if self.is_mapped() { "mapped" } else { "heap" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("strata-slab-{name}-{}", std::process::id()))
    }

    /// The `VmFlags` of the mapping in /proc/self/smaps that holds `addr`.
    #[cfg(target_os = "linux")]
    fn vm_flags(addr: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            let head = line.split_whitespace().next().unwrap_or("");
            if let Some((a, b)) = head.split_once('-').filter(|(a, b)| !a.is_empty() && b.chars().all(|c| c.is_ascii_hexdigit())) {
                if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                    inside = (a..b).contains(&addr);
                    continue;
                }
            }
            if inside && line.starts_with("VmFlags:") {
                return Some(line.to_string());
            }
        }
        None
    }

    /// Large heap slabs, zeroed, from a vector or copied from a slice or bytes, are
    /// advised into huge pages (smaps marks such mappings `hg`) and hold
    /// exactly their elements (the copies run in 2 MB chunks: a length
    /// that is not a whole number of chunks checks the last one); small
    /// ones are left alone.
    #[cfg(target_os = "linux")]
    #[test]
    fn large_heap_slabs_ask_for_huge_pages() {
        let n = (HUGE_PAGE_MIN_BYTES * 4) / 8 + 13;
        let mut z = Slab::<u64>::zeroed(n, None).unwrap();
        z[n / 2] = 7;
        let expected: Vec<u64> = (0..n as u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
        let v = Slab::from_vec(expected.clone());
        let bytes: Vec<u8> = expected.iter().flat_map(|x| x.to_ne_bytes()).collect();
        let b = Slab::<u64>::copied_from_bytes(&bytes);
        let c = Slab::copied_from(&expected);
        for (what, s) in [("zeroed", &z), ("from_vec", &v), ("copied_from_bytes", &b), ("copied_from", &c)] {
            let mid = s.as_ptr() as usize + n / 2 * 8;
            let flags = vm_flags(mid).expect("the slab's mapping is in smaps");
            assert!(flags.split_whitespace().any(|f| f == "hg"), "{what}: {flags}");
        }
        assert_eq!(z[n / 2], 7);
        assert!(v[..] == expected[..], "from_vec changed the elements");
        assert!(b[..] == expected[..], "copied_from_bytes changed the elements");
        assert!(c[..] == expected[..], "copied_from changed the elements");
        let small = Slab::<u64>::zeroed(1000, None).unwrap();
        let flags = vm_flags(small.as_ptr() as usize).unwrap_or_default();
        assert!(!flags.split_whitespace().any(|f| f == "hg"), "small: {flags}");
        assert_eq!(&Slab::from_vec(vec![5u64; 9])[..], &[5u64; 9]);
    }

    #[test]
    fn mapped_slab_reads_and_writes_like_a_heap_one() {
        let spill = Spill::new(tmp("rw"), "t", None);
        let mut a = Slab::<u64>::zeroed(10_000, Some(&spill)).unwrap();
        let mut b = Slab::<u64>::zeroed(10_000, None).unwrap();
        assert!(a.is_mapped() && !b.is_mapped());
        assert!(a.iter().all(|&x| x == 0));
        for (i, (x, y)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
            *x = i as u64 * 7;
            *y = i as u64 * 7;
        }
        assert_eq!(&a[..], &b[..]);
        assert_eq!(spill.used(), 80_000);
        assert_eq!(a.heap_bytes(), 0);
        // Unlinked at once: the directory holds nothing.
        assert_eq!(std::fs::read_dir(tmp("rw")).unwrap().count(), 0);
    }

    #[test]
    fn a_file_written_first_is_mapped_as_its_elements() {
        let spill = Spill::new(tmp("map"), "t", None);
        let mut f = spill.file(0).unwrap();
        let vals: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5).collect();
        for v in &vals {
            f.write_all(&v.to_ne_bytes()).unwrap();
        }
        let s = Slab::<f32>::map(&f, 1000).unwrap();
        assert_eq!(&s[..], &vals[..]);
        assert!(Slab::<f32>::map(&f, 1001).is_err(), "longer than the file");
    }

    #[test]
    fn a_truncated_slab_keeps_its_prefix() {
        let spill = Spill::new(tmp("trunc"), "t", None);
        for s in [Some(&spill), None] {
            let mut a = Slab::<u64>::zeroed(5000, s).unwrap();
            for (i, x) in a.iter_mut().enumerate() {
                *x = i as u64;
            }
            a.truncate(1234);
            assert_eq!(a.len(), 1234);
            assert!(a.iter().enumerate().all(|(i, &x)| x == i as u64));
            a.truncate(9999);
            assert_eq!(a.len(), 1234, "never longer");
        }
    }

    #[test]
    fn the_limit_refuses_a_file_that_would_exceed_it() {
        let spill = Spill::new(tmp("limit"), "t", Some(1000));
        assert!(Slab::<u8>::zeroed(600, Some(&spill)).is_ok());
        let e = Slab::<u8>::zeroed(600, Some(&spill)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::QuotaExceeded);
        assert_eq!(spill.used(), 600);
    }
}
