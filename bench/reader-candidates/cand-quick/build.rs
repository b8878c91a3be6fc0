//! pb-rs (quick-protobuf's code generator) over proto/.
fn main() {
    println!("cargo:rerun-if-changed=../../../proto");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let root = std::path::PathBuf::from("../../../proto");
    let files = [
        "tikcast/webcast/data.proto",
        "tikcast/webcast/messages.proto",
    ]
    .map(|f| root.join(f))
    .to_vec();
    let config = pb_rs::ConfigBuilder::new(&files, None, Some(&out), std::slice::from_ref(&root))
        .expect("pb-rs reads proto/")
        .dont_use_cow(false)
        .nostd(true)
        .headers(false)
        .single_module(true);
    pb_rs::types::FileDescriptor::run(&config.build()).expect("pb-rs generates code");
}
