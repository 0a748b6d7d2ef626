//! A strategy plugin written against the raw C ABI without the sdk, the way a third party in
//! another language would. The host tests compile it with rustc in several broken variants
//! (`--cfg 'variant="…"'`): wrong_abi, no_symbol, liar (returns an invalid layout), abort
//! (crashes in run), spin (never returns and ignores cancellation).

#![allow(clippy::missing_safety_doc)]

use std::ffi::c_void;

#[repr(C)]
pub struct Buffer {
    ptr: *mut u8,
    len: usize,
}

type ProgressFn = unsafe extern "C" fn(*mut c_void, *const u8, usize);
type CancelFn = unsafe extern "C" fn(*mut c_void) -> i32;

#[repr(C)]
pub struct Table {
    abi_version: u32,
    struct_size: u32,
    manifest: extern "C" fn() -> Buffer,
    run: unsafe extern "C" fn(
        *const u8,
        usize,
        Option<ProgressFn>,
        Option<CancelFn>,
        *mut c_void,
        *mut Buffer,
    ) -> i32,
    free: unsafe extern "C" fn(Buffer),
}

const ABI: u32 = if cfg!(variant = "wrong_abi") { 99 } else { 1 };

fn name() -> &'static str {
    if cfg!(variant = "wrong_abi") {
        "wrong-abi"
    } else if cfg!(variant = "liar") {
        "liar"
    } else if cfg!(variant = "abort") {
        "abort"
    } else if cfg!(variant = "spin") {
        "spin"
    } else {
        "raw"
    }
}

fn buffer(s: String) -> Buffer {
    let b = s.into_bytes().into_boxed_slice();
    let len = b.len();
    Buffer {
        ptr: Box::into_raw(b) as *mut u8,
        len,
    }
}

extern "C" fn manifest() -> Buffer {
    buffer(format!(
        r#"{{"name":"{}","version":"1.0.0","abi_version":{ABI},"description":"test plugin",
            "capabilities":{{"rotations":false,"alternatives":false,"terrain_aware":false,"deterministic":true}},
            "parameters":{{"type":"object"}}}}"#,
        name()
    ))
}

unsafe extern "C" fn run(
    _request: *const u8,
    _len: usize,
    progress: Option<ProgressFn>,
    _cancel: Option<CancelFn>,
    user_data: *mut c_void,
    out: *mut Buffer,
) -> i32 {
    if let Some(p) = progress {
        let msg = br#"{"fraction":0.5,"message":"raw plugin at work"}"#;
        unsafe { p(user_data, msg.as_ptr(), msg.len()) };
    }
    if cfg!(variant = "abort") {
        std::process::abort();
    }
    if cfg!(variant = "spin") {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    // Two copies of the same building on top of each other, nowhere near the site.
    let asset = r#"{"asset_id":"building-1","name":"Building","asset_type":"building",
        "center":[0.0,0.0],"width_m":18.288,"length_m":24.384,"rotation_deg":0.0}"#;
    let json = format!(r#"{{"layouts":[{{"assets":[{asset},{asset}],"roads":[]}}]}}"#);
    unsafe { out.write(buffer(json)) };
    0
}

unsafe extern "C" fn free(b: Buffer) {
    if !b.ptr.is_null() {
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(b.ptr, b.len)) });
    }
}

static TABLE: Table = Table {
    abi_version: ABI,
    struct_size: std::mem::size_of::<Table>() as u32,
    manifest,
    run,
    free,
};

#[cfg(not(variant = "no_symbol"))]
#[unsafe(no_mangle)]
pub extern "C" fn entmoot_strategy_entry_v1() -> *const Table {
    &TABLE
}

#[cfg(variant = "no_symbol")]
#[unsafe(no_mangle)]
pub extern "C" fn some_other_library_function() -> *const Table {
    &TABLE
}
