//! Reading and writing the on-disk form of the vector types, and the plumbing
//! for functions called with PostgreSQL's V1 calling convention.
//!
//! All three types share one varlena layout:
//!
//! ```text
//! offset 0  u32  varlena header (4-byte form after detoasting)
//! offset 4  u16  dims
//! offset 6  u16  reserved, always 0
//! offset 8  ...  payload: f32 x dims (vector), f16 x dims (vecf16),
//!                u64 x ceil(dims/64) little-endian bit words (bvector)
//! ```
//! Types are declared with `ALIGNMENT = double` so the payload is 8-byte
//! aligned wherever PostgreSQL hands us an unpacked datum.

use half::f16;
use pgrx::pg_sys;
use std::borrow::Cow;

pub const HEADER_BYTES: usize = 8;

/// Declares SQL-callable functions with the V1 calling convention: the info
/// record PostgreSQL looks up with `dlsym`, and a panic-guarded body.
macro_rules! pg_v1 {
    ($(fn $name:ident($fcinfo:ident) $body:block)*) => {
        $(
            paste::paste! {
                #[unsafe(no_mangle)]
                #[doc(hidden)]
                pub extern "C" fn [<pg_finfo_ $name>]() -> &'static pgrx::pg_sys::Pg_finfo_record {
                    const V1: pgrx::pg_sys::Pg_finfo_record = pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
                    &V1
                }
                #[unsafe(no_mangle)]
                pub unsafe extern "C-unwind" fn $name($fcinfo: pgrx::pg_sys::FunctionCallInfo) -> pgrx::pg_sys::Datum {
                    // What #[pg_guard] does, spelled out because the attribute
                    // loses macro_rules hygiene: panics and ERRORs cross the
                    // FFI boundary as PostgreSQL errors.
                    #[allow(unused_unsafe)]
                    unsafe {
                        pgrx::pg_sys::submodules::panic::pgrx_extern_c_guard(move || $body)
                    }
                }
            }
        )*
    };
}
pub(crate) use pg_v1;

/// A detoasted vector value, borrowed for the duration of a function call.
pub struct VecView<'a> {
    pub dims: usize,
    payload: &'a [u8],
}

pub(crate) fn typed<T: Copy>(bytes: &[u8]) -> Cow<'_, [T]> {
    // SAFETY: only used for f32, f16, u64 and u32, for which every bit pattern is valid.
    let (head, body, tail) = unsafe { bytes.align_to::<T>() };
    if head.is_empty() && tail.is_empty() {
        Cow::Borrowed(body)
    } else {
        // An unaligned datum (should not happen with ALIGNMENT = double): copy.
        let n = bytes.len() / std::mem::size_of::<T>();
        let mut v = Vec::<T>::with_capacity(n);
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), v.as_mut_ptr() as *mut u8, n * std::mem::size_of::<T>());
            v.set_len(n);
        }
        Cow::Owned(v)
    }
}

impl<'a> VecView<'a> {
    pub fn f32s(&self) -> Cow<'a, [f32]> {
        typed(self.payload)
    }
    pub fn f16s(&self) -> Cow<'a, [f16]> {
        typed(self.payload)
    }
    pub fn words(&self) -> Cow<'a, [u64]> {
        typed(self.payload)
    }
    /// The stored elements as raw bytes.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// Detoasts a vector datum (which must not be NULL) and views it.
pub unsafe fn datum_vec<'a>(datum: pg_sys::Datum) -> VecView<'a> {
    unsafe {
        let ptr = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *const u8;
        let total = pgrx::varlena::varsize_any(ptr as *const pg_sys::varlena);
        let bytes = std::slice::from_raw_parts(ptr, total);
        let dims = u16::from_ne_bytes([bytes[4], bytes[5]]) as usize;
        VecView { dims, payload: &bytes[HEADER_BYTES..] }
    }
}

/// Detoasts argument `n` (which must not be NULL) and views it.
pub unsafe fn arg_vec<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> VecView<'a> {
    unsafe { datum_vec(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n)) }
}

pub unsafe fn arg_i32(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> i32 {
    unsafe { pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n).value() as i32 }
}

/// A new palloc'd vector datum of `dims` dimensions with the given payload.
pub fn new_vec_datum(dims: usize, payload: &[u8]) -> pg_sys::Datum {
    debug_assert!(dims <= u16::MAX as usize);
    let total = HEADER_BYTES + payload.len();
    unsafe {
        let ptr = pg_sys::palloc0(total) as *mut u8;
        pgrx::varlena::set_varsize_4b(ptr as *mut pg_sys::varlena, total as i32);
        std::ptr::copy_nonoverlapping((dims as u16).to_ne_bytes().as_ptr(), ptr.add(4), 2);
        std::ptr::copy_nonoverlapping(payload.as_ptr(), ptr.add(HEADER_BYTES), payload.len());
        pg_sys::Datum::from(ptr)
    }
}

pub fn f32_datum(v: &[f32]) -> pg_sys::Datum {
    new_vec_datum(v.len(), unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, v.len() * 4) })
}

pub fn f16_datum(v: &[f16]) -> pg_sys::Datum {
    new_vec_datum(v.len(), unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, v.len() * 2) })
}

pub fn bits_datum(dims: usize, words: &[u64]) -> pg_sys::Datum {
    new_vec_datum(dims, unsafe { std::slice::from_raw_parts(words.as_ptr() as *const u8, words.len() * 8) })
}

/// A palloc'd C string datum (for output functions).
pub fn cstring_datum(s: &str) -> pg_sys::Datum {
    unsafe {
        let ptr = pg_sys::palloc(s.len() + 1) as *mut u8;
        std::ptr::copy_nonoverlapping(s.as_ptr(), ptr, s.len());
        *ptr.add(s.len()) = 0;
        pg_sys::Datum::from(ptr)
    }
}

/// A palloc'd bytea datum (for send functions).
pub fn bytea_datum(bytes: &[u8]) -> pg_sys::Datum {
    let total = 4 + bytes.len();
    unsafe {
        let ptr = pg_sys::palloc(total) as *mut u8;
        pgrx::varlena::set_varsize_4b(ptr as *mut pg_sys::varlena, total as i32);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr.add(4), bytes.len());
        pg_sys::Datum::from(ptr)
    }
}

/// The unread bytes of a receive function's StringInfo argument; marks them read.
pub unsafe fn take_recv_buffer<'a>(fcinfo: pg_sys::FunctionCallInfo) -> &'a [u8] {
    unsafe {
        let buf = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::StringInfoData>();
        let start = (*buf).cursor as usize;
        let end = (*buf).len as usize;
        (*buf).cursor = (*buf).len;
        std::slice::from_raw_parts(((*buf).data as *const u8).add(start), end - start)
    }
}

pub fn float8_datum(v: f64) -> pg_sys::Datum {
    pg_sys::Datum::from(v.to_bits())
}

pub fn int4_datum(v: i32) -> pg_sys::Datum {
    pg_sys::Datum::from(v)
}

pub fn bool_datum(v: bool) -> pg_sys::Datum {
    pg_sys::Datum::from(v)
}
