//! prost-build over proto/ (compiled by protox), as tikcast-core's build does, without serde.
fn main() {
    let root = std::path::Path::new("../../../proto");
    let files = [
        "tikcast/webcast/data.proto",
        "tikcast/webcast/messages.proto",
    ];
    println!("cargo:rerun-if-changed=../../../proto");
    let fds = protox::compile(files, [root]).expect("proto/ compiles");
    let mut config = prost_build::Config::new();
    config.btree_map(["."]);
    config.compile_fds(fds).expect("prost-build generates code");
}
