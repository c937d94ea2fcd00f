//! Generates the Rust types for `proto/blueshift.proto`, using a vendored `protoc` so the build
//! needs nothing installed beyond cargo.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: build scripts are single-threaded; nothing else reads the environment concurrently.
    unsafe { std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?) };
    tonic_prost_build::configure()
        // Parsed rows of a load arrive as `Bytes` and are decoded without copying them out.
        .bytes(".blueshift.LoadReply.batch")
        .compile_protos(&["proto/blueshift.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto/blueshift.proto");
    Ok(())
}
