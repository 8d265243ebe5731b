//! When the program's allocator (mimalloc, made the global allocator in `main.rs`) hands memory
//! that was freed back to the system.
//!
//! An import allocates and frees a few small values for every row, on two threads; the C
//! library's allocator spent about a quarter of an import's time on that, mimalloc a fraction.
//! By default mimalloc returns freed memory a second after it was freed, which suits neither of
//! the program's two ways of running: the server answers reports with buffers of 20 to 30 MB,
//! and returning those between requests makes requests fault their pages in again (the slowest
//! answers of a year by agent and week took twice as long); an import frees a batch of rows
//! every few tenths of a second, and keeping those for a second made its peak memory a third
//! larger.

use std::ffi::c_long;

/// mimalloc's option numbers (`mi_option_t` in its `mimalloc.h`, version 3, the one the
/// `libmimalloc-sys` of Cargo.lock builds); the crate names neither of these two.
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The server: keep freed memory for the next requests instead of returning it.
pub fn keep_freed_memory() {
    set(PURGE_DELAY, -1);
}

/// An import on the command line: return freed memory at once, and take memory from the
/// system only as it is used, so that its peak stays that of its largest batch.
pub fn return_freed_memory() {
    set(PURGE_DELAY, 0);
    set(ARENA_EAGER_COMMIT, 0);
}

fn set(option: libmimalloc_sys::mi_option_t, value: c_long) {
    // SAFETY: writes one word of mimalloc's table of tuning parameters, which its allocations
    // read; called once, as a command starts its work, and never from two threads at once
    // (mimalloc does not guard options against concurrent sets).
    unsafe { libmimalloc_sys::mi_option_set(option, value) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(option: libmimalloc_sys::mi_option_t) -> c_long {
        // SAFETY: reads one of mimalloc's tuning parameters.
        unsafe { libmimalloc_sys::mi_option_get(option) }
    }

    /// The option numbers name the options meant: mimalloc 3's defaults are a purge delay of
    /// 1000 ms and arenas committed eagerly only where the system overcommits (2).
    #[test]
    fn the_option_numbers_are_mimallocs() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none()
            && std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none()
        {
            assert_eq!((get(PURGE_DELAY), get(ARENA_EAGER_COMMIT)), (1000, 2));
        }
        set(PURGE_DELAY, 25);
        assert_eq!(get(PURGE_DELAY), 25);
        set(PURGE_DELAY, 1000);
    }
}
