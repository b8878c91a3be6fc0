//! Compiles `proto/` with protox (pure Rust, no `protoc`) and prost-build.
//!
//! Every generated type gets `serde::Serialize` behind the `serde` feature with the
//! canonical JSON conventions of docs/events.md: camelCase names, `uint64` (ids) as
//! decimal strings, bytes as base64, `User` in its canonical shape, and the `common`
//! header left out (its fields are lifted into every event's meta).

use std::path::PathBuf;

use prost_build::Config;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let proto_root = manifest.join("../../proto");
    let files = [
        "tikcast/webcast/transport.proto",
        "tikcast/webcast/data.proto",
        "tikcast/webcast/messages.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={}", proto_root.join(f).display());
    }

    let fds: FileDescriptorSet = protox::compile(files, [&proto_root])
        .unwrap_or_else(|e| panic!("proto/ does not compile: {e:?}"));

    let mut config = Config::new();
    // BTreeMap works in no_std; HashMap needs std.
    config.btree_map(["."]);
    config.type_attribute(
        ".",
        "#[cfg_attr(feature = \"serde\", derive(serde::Serialize))]",
    );
    config.type_attribute(
        ".",
        "#[cfg_attr(feature = \"serde\", serde(rename_all = \"camelCase\"))]",
    );
    for file in &fds.file {
        let package = file.package();
        for msg in &file.message_type {
            annotate(&mut config, &format!(".{package}"), msg);
        }
    }
    config.compile_fds(fds).expect("prost-build generates code");
}

fn annotate(config: &mut Config, parent: &str, msg: &DescriptorProto) {
    let path = format!("{parent}.{}", msg.name());
    if msg.options.as_ref().is_some_and(|o| o.map_entry()) {
        return;
    }
    for field in &msg.field {
        let repeated = field.label() == Label::Repeated;
        let with = match field.r#type() {
            Type::Uint64 if repeated => Some("serialize_with = \"crate::json::u64_list\""),
            Type::Uint64 => Some("serialize_with = \"crate::json::u64_str\""),
            Type::Bytes if !repeated => Some("serialize_with = \"crate::json::base64\""),
            Type::Message if field.type_name() == ".tikcast.webcast.User" => Some(if repeated {
                "serialize_with = \"crate::json::user_list\""
            } else {
                "serialize_with = \"crate::json::user_opt\""
            }),
            Type::Message if field.name() == "common" => Some("skip"),
            _ => None,
        };
        if let Some(with) = with {
            config.field_attribute(
                format!("{path}.{}", field.name()),
                format!("#[cfg_attr(feature = \"serde\", serde({with}))]"),
            );
        }
    }
    for nested in &msg.nested_type {
        annotate(config, &path, nested);
    }
}
