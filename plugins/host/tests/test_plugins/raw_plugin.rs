//! A strategy plugin written against the raw C ABI without the sdk, the way a third party in
//! another language would. The host tests compile it with rustc in many variants
//! (`--cfg 'variant="…"'`), most of them broken on purpose:
//!
//! * refused at load: `wrong_abi` (table says ABI 99), `no_symbol` (no entry symbol),
//!   `small_table` (struct_size too small), `bad_manifest` (manifest is not JSON);
//! * broken at run time: `liar` (an invalid layout), `abort` (crashes), `spin` (never returns,
//!   ignores cancellation), `panic` (a Rust panic escaping `extern "C"`, which aborts),
//!   `garbage` (status 0 with bytes that are not JSON), `bad_status` (status 7),
//!   `null_output` (status 0 without writing `*out`), `regress` (progress goes backwards);
//! * well-behaved: `reload_v1` and `reload_v2` (strategy `reloadable` in two versions, each
//!   saying which it is in its progress message), `raw` (the default: an empty layout).

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
    } else if cfg!(variant = "panic") {
        "panic"
    } else if cfg!(variant = "garbage") {
        "garbage"
    } else if cfg!(variant = "bad_status") {
        "bad-status"
    } else if cfg!(variant = "null_output") {
        "null-output"
    } else if cfg!(variant = "regress") {
        "regress"
    } else if cfg!(any(variant = "reload_v1", variant = "reload_v2")) {
        "reloadable"
    } else {
        "raw"
    }
}

fn version() -> &'static str {
    if cfg!(variant = "reload_v2") {
        "2.0.0"
    } else {
        "1.0.0"
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
    if cfg!(variant = "bad_manifest") {
        return buffer("this is not a manifest".into());
    }
    buffer(format!(
        r#"{{"name":"{}","version":"{}","abi_version":{ABI},"description":"test plugin",
            "capabilities":{{"rotations":false,"alternatives":false,"terrain_aware":false,"deterministic":true}},
            "parameters":{{"type":"object"}}}}"#,
        name(),
        version()
    ))
}

unsafe fn report(progress: Option<ProgressFn>, user_data: *mut c_void, json: &str) {
    if let Some(p) = progress {
        unsafe { p(user_data, json.as_ptr(), json.len()) };
    }
}

unsafe extern "C" fn run(
    _request: *const u8,
    _len: usize,
    progress: Option<ProgressFn>,
    _cancel: Option<CancelFn>,
    user_data: *mut c_void,
    out: *mut Buffer,
) -> i32 {
    let message = if cfg!(variant = "reload_v1") {
        "reloadable v1"
    } else if cfg!(variant = "reload_v2") {
        "reloadable v2"
    } else {
        "raw plugin at work"
    };
    unsafe {
        report(
            progress,
            user_data,
            &format!(r#"{{"fraction":0.5,"message":"{message}"}}"#),
        )
    };
    if cfg!(variant = "regress") {
        unsafe { report(progress, user_data, r#"{"fraction":0.2,"message":"oops"}"#) };
    }
    if cfg!(variant = "abort") {
        std::process::abort();
    }
    if cfg!(variant = "panic") {
        panic!("deliberate panic across the C ABI");
    }
    if cfg!(variant = "spin") {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    if cfg!(variant = "garbage") {
        let junk: Vec<u8> = (0u8..=255).cycle().take(1000).collect();
        let b = junk.into_boxed_slice();
        let len = b.len();
        unsafe {
            out.write(Buffer {
                ptr: Box::into_raw(b) as *mut u8,
                len,
            })
        };
        return 0;
    }
    if cfg!(variant = "bad_status") {
        unsafe { out.write(buffer(r#"{"layouts":[]}"#.into())) };
        return 7;
    }
    if cfg!(variant = "null_output") {
        return 0;
    }
    if cfg!(variant = "liar") {
        // Two copies of the same building on top of each other, nowhere near the site.
        let asset = r#"{"asset_id":"building-1","name":"Building","asset_type":"building",
            "center":[0.0,0.0],"width_m":18.288,"length_m":24.384,"rotation_deg":0.0}"#;
        let json = format!(r#"{{"layouts":[{{"assets":[{asset},{asset}],"roads":[]}}]}}"#);
        unsafe { out.write(buffer(json)) };
        return 0;
    }
    unsafe { out.write(buffer(r#"{"layouts":[{"assets":[],"roads":[]}]}"#.into())) };
    0
}

unsafe extern "C" fn free(b: Buffer) {
    if !b.ptr.is_null() {
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(b.ptr, b.len)) });
    }
}

static TABLE: Table = Table {
    abi_version: ABI,
    struct_size: if cfg!(variant = "small_table") {
        16
    } else {
        std::mem::size_of::<Table>() as u32
    },
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
