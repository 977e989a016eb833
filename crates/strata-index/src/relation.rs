//! Read access to an index's blocks: the buffer manager in the access
//! method, a vector of pages in tests.

use crate::log::{encode_entry, fill_page, plan_append};
use crate::page::{init_special, PageKind, PAGE_SIZE};
use crate::Meta;

/// An index relation as the storage layer reads it.
pub trait Relation {
    /// Blocks in the relation's main fork.
    fn nblocks(&self) -> u32;
    /// Calls `f` with the whole page (`PAGE_SIZE` bytes) of `block`, which
    /// is below [`Relation::nblocks`], under a share lock. Implementations
    /// may check for cancellation before they lock.
    fn read<R>(&self, block: u32, f: impl FnOnce(&[u8]) -> R) -> R;
}

impl<T: Relation + ?Sized> Relation for &T {
    fn nblocks(&self) -> u32 {
        (**self).nblocks()
    }
    fn read<R>(&self, block: u32, f: impl FnOnce(&[u8]) -> R) -> R {
        (**self).read(block, f)
    }
}

/// An index held in memory, for tests and tools.
#[derive(Clone, Debug, Default)]
pub struct MemRelation {
    pub pages: Vec<Vec<u8>>,
}

impl MemRelation {
    /// Decodes pages as `get_raw_page` gives them, hex-encoded.
    pub fn from_hex_pages<'a>(pages: impl IntoIterator<Item = &'a str>) -> MemRelation {
        let pages = pages
            .into_iter()
            .map(|hex| {
                let hex = hex.trim().trim_start_matches("\\x");
                assert_eq!(hex.len(), 2 * PAGE_SIZE, "a page is {PAGE_SIZE} bytes");
                (0..PAGE_SIZE).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex digits")).collect()
            })
            .collect();
        MemRelation { pages }
    }

    /// Appends a zeroed page and returns its block number.
    pub fn extend(&mut self) -> u32 {
        self.pages.push(vec![0; PAGE_SIZE]);
        self.pages.len() as u32 - 1
    }

    /// Appends an entry to the writing segment of `meta` as the access
    /// method does (`src/am/insert.rs`), always on new pages (the AM reuses
    /// freed log pages first). Returns where the entry's header is (block,
    /// offset in the content area).
    pub fn append_entry(&mut self, meta: &mut Meta, tid: u64, vector: &[u8]) -> (u32, usize) {
        let entry = encode_entry(tid, vector, meta.entry_bytes());
        let plan = plan_append(&meta.log, entry.len());
        let blocks: Vec<u32> = plan
            .iter()
            .map(|p| {
                if p.existing {
                    return meta.log.tail;
                }
                let block = self.extend();
                init_special(&mut self.pages[block as usize], PageKind::Log);
                block
            })
            .collect();
        for (i, p) in plan.iter().enumerate() {
            fill_page(&mut self.pages[blocks[i] as usize], p, &entry, blocks.get(i + 1).copied());
        }
        let first = plan.iter().position(|p| p.write.is_some()).expect("an entry always has bytes");
        let head = (blocks[first], plan[first].write.as_ref().expect("found by write").0);
        let (at, bytes) = plan.last().and_then(|p| p.write.clone()).expect("the last page holds the entry's end");
        meta.commit_append((head.0, head.1 as u32), *blocks.last().expect("non-empty plan"), (at + bytes.len()) as u32);
        head
    }
}

impl Relation for MemRelation {
    fn nblocks(&self) -> u32 {
        self.pages.len() as u32
    }
    fn read<R>(&self, block: u32, f: impl FnOnce(&[u8]) -> R) -> R {
        f(&self.pages[block as usize])
    }
}
