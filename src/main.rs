fn main() -> std::process::ExitCode {
    keep_freed_memory();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(kalibra::cli::run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Keep memory that is freed for the next allocations instead of handing it back to the system
/// at once. A report of a year by agent and week builds buffers of several megabytes; by
/// default each is mapped fresh and released when freed, so every request faults its pages in
/// again (a third of that answer's time). Set before any other thread starts; the C library's
/// own allocator only.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const MAP_ABOVE: libc::c_int = 32 << 20;
        const TRIM_ABOVE: libc::c_int = 128 << 20;
        // SAFETY: mallopt only sets the allocator's parameters; no other thread runs yet.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MAP_ABOVE);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_ABOVE);
        }
    }
}
