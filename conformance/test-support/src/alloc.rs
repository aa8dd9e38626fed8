//! [`Counting`], a global allocator that measures the peak of bytes held by the current
//! thread, to prove that a 20 MB answer never sits in memory.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
};

/// A global allocator that keeps, per thread, the bytes currently held and their peak.
/// Install it in a test binary with `#[global_allocator] static A: Counting = Counting;`
/// and measure with [`peak_during`] on a current-thread runtime (every task of the
/// client, the server and hyper then runs on the measuring thread).
pub struct Counting;

thread_local! {
    static HELD: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn note(delta: i64) {
    // `try_with`: the thread-locals may already be gone while a thread exits.
    let _ = HELD.try_with(|held| {
        let now = held.get() + delta;
        held.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

// SAFETY: every call is forwarded to `System` unchanged; the bookkeeping touches only
// const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as i64);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-(layout.size() as i64));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as i64);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size as i64 - layout.size() as i64);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `work` to completion on a fresh current-thread runtime and returns its output
/// with the peak number of bytes this thread held above what it held at the start.
pub fn peak_during<T>(work: impl std::future::Future<Output = T>) -> (T, u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let start = HELD.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let out = runtime.block_on(work);
    let peak = PEAK.with(Cell::get) - start;
    drop(runtime);
    (out, peak.max(0) as u64)
}
