//! micropb-gen over the FileDescriptorSet protox makes of proto/ (no protoc).
use prost::Message;
fn main() {
    println!("cargo:rerun-if-changed=../../../proto");
    let fds = protox::compile(
        [
            "tikcast/webcast/data.proto",
            "tikcast/webcast/messages.proto",
        ],
        ["../../../proto"],
    )
    .expect("proto/ compiles");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let fds_path = out.join("webcast.fds");
    std::fs::write(&fds_path, fds.encode_to_vec()).expect("OUT_DIR is writable");
    let mut gen = micropb_gen::Generator::new();
    // Strings, bytes and repeated fields in alloc's String/Vec (our messages are unbounded).
    gen.use_container_alloc();
    gen.encode_decode(micropb_gen::EncodeDecode::DecodeOnly);
    gen.compile_fdset_file(&fds_path, out.join("webcast.rs"))
        .expect("micropb-gen generates code");
}
