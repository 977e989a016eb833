//! Page geometry and the special space every page of a `vectors` index ends with.
//!
//! Every page is a standard PostgreSQL page whose whole content area (the
//! 8152 bytes between the 24-byte page header and the 16-byte special space)
//! belongs to the index: the access method sets `pd_lower` equal to
//! `pd_upper`, so neither full-page images nor generic WAL records drop any
//! of it as a "hole".
//!
//! Special space (16 bytes, native byte order):
//!
//! | off | type | field                                         |
//! |-----|------|-----------------------------------------------|
//! | 0   | u16  | page kind ([`PageKind`])                      |
//! | 2   | u16  | reserved (0)                                  |
//! | 4   | u32  | next block (log pages; 0 = none)              |
//! | 8   | u32  | bytes used in the content area (log pages)    |
//! | 12  | u32  | magic [`MAGIC`] ("STRA")                      |

pub use strata_hnsw::page::{PAGE_PAYLOAD, PAGE_SIZE};

/// "STRA": in the metapage's first word and in every page's special space.
pub const MAGIC: u32 = 0x5354_5241;
pub const SPECIAL_SIZE: usize = 16;
/// Where the content area starts: after PostgreSQL's page header.
pub const CONTENT_OFFSET: usize = 24;
const _: () = assert!(CONTENT_OFFSET + PAGE_PAYLOAD + SPECIAL_SIZE == PAGE_SIZE);

/// What a page holds, from its special space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum PageKind {
    /// Block 0: the segment directory ([`crate::meta::Meta`]).
    Meta = 1,
    /// A page of a sealed segment (`strata_hnsw::page`'s format).
    Sealed = 2,
    /// A page of the entry log: the writing segment or a growing segment.
    Log = 3,
    /// Lists the extents of a sealed segment spread over several page runs.
    Extents = 4,
}

impl PageKind {
    pub fn from_u16(v: u16) -> Option<PageKind> {
        Some(match v {
            1 => PageKind::Meta,
            2 => PageKind::Sealed,
            3 => PageKind::Log,
            4 => PageKind::Extents,
            _ => return None,
        })
    }
}

pub(crate) fn rd_u32(b: &[u8], o: usize) -> u32 {
    u32::from_ne_bytes(b[o..o + 4].try_into().unwrap())
}
pub(crate) fn wr_u32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_ne_bytes());
}
pub(crate) fn rd_u16(b: &[u8], o: usize) -> u16 {
    u16::from_ne_bytes(b[o..o + 2].try_into().unwrap())
}

/// The content area of a whole page.
pub fn content(page: &[u8]) -> &[u8] {
    &page[CONTENT_OFFSET..CONTENT_OFFSET + PAGE_PAYLOAD]
}

pub fn content_mut(page: &mut [u8]) -> &mut [u8] {
    &mut page[CONTENT_OFFSET..CONTENT_OFFSET + PAGE_PAYLOAD]
}

fn special(page: &[u8]) -> &[u8] {
    &page[PAGE_SIZE - SPECIAL_SIZE..PAGE_SIZE]
}

fn special_mut(page: &mut [u8]) -> &mut [u8] {
    &mut page[PAGE_SIZE - SPECIAL_SIZE..PAGE_SIZE]
}

/// Writes the special space of an empty page of `kind` (the page header is
/// PostgreSQL's `PageInit`, done by the caller).
pub fn init_special(page: &mut [u8], kind: PageKind) {
    let s = special_mut(page);
    s.fill(0);
    s[0..2].copy_from_slice(&(kind as u16).to_ne_bytes());
    wr_u32(s, 12, MAGIC);
}

/// The page's kind, or None when its special space is not ours (a page this
/// index never wrote, or a damaged one). An unknown kind number is `Err`.
pub fn page_kind(page: &[u8]) -> Option<Result<PageKind, u16>> {
    let s = special(page);
    (rd_u32(s, 12) == MAGIC).then(|| {
        let v = rd_u16(s, 0);
        PageKind::from_u16(v).ok_or(v)
    })
}

/// Whether the page is ours and of `kind`.
pub fn is_kind(page: &[u8], kind: PageKind) -> bool {
    matches!(page_kind(page), Some(Ok(k)) if k == kind)
}

pub fn log_next(page: &[u8]) -> u32 {
    rd_u32(special(page), 4)
}
pub fn set_log_next(page: &mut [u8], next: u32) {
    wr_u32(special_mut(page), 4, next)
}
pub fn log_used(page: &[u8]) -> u32 {
    rd_u32(special(page), 8)
}
pub fn set_log_used(page: &mut [u8], used: u32) {
    wr_u32(special_mut(page), 8, used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_space_round_trips_and_rejects_foreign_pages() {
        let mut page = vec![0u8; PAGE_SIZE];
        assert_eq!(page_kind(&page), None);
        init_special(&mut page, PageKind::Log);
        set_log_next(&mut page, 77);
        set_log_used(&mut page, 8000);
        assert!(is_kind(&page, PageKind::Log));
        assert!(!is_kind(&page, PageKind::Sealed));
        assert_eq!((log_next(&page), log_used(&page)), (77, 8000));
        // The special space's byte offsets are part of the on-disk format.
        assert_eq!(&page[PAGE_SIZE - 16..PAGE_SIZE - 14], &3u16.to_ne_bytes());
        assert_eq!(&page[PAGE_SIZE - 4..], &MAGIC.to_ne_bytes());
        page[PAGE_SIZE - 16] = 9;
        assert_eq!(page_kind(&page), Some(Err(9)));
    }
}
