//! femtopb-build over proto/ (it compiles with protox itself).
//!
//! femtopb 0.9 refuses map fields ("femtopb currently does not support map fields"), and
//! messages.proto has two (LinkMicBattleMessage.battle_result, LinkMicArmiesMessage.armies).
//! So the build compiles a copy of proto/ in which each `map<K, V> name = N;` is replaced
//! by its wire equivalent, `repeated NameEntry name = N;` with
//! `message NameEntry { K key = 1; V value = 2; }` (the protobuf spec's definition of a map).
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=../../../proto");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let copy = out.join("proto");
    let files = [
        "tikcast/webcast/data.proto",
        "tikcast/webcast/messages.proto",
    ];
    for f in files {
        let src = std::fs::read_to_string(PathBuf::from("../../../proto").join(f)).expect("proto/");
        let dest = copy.join(f);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, without_maps(&src)).unwrap();
    }
    femtopb_build::compile_protos(&files, &[copy]).expect("femtopb-build generates code");
}

fn without_maps(src: &str) -> String {
    let mut out = String::new();
    let mut entries = String::new();
    for line in src.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("map<") {
            // map<K, V> name = N;
            let (kv, decl) = rest.split_once('>').expect("map<K, V>");
            let (k, v) = kv.split_once(',').expect("map<K, V>");
            let name = decl.split_whitespace().next().expect("field name");
            let camel: String = name
                .split('_')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect();
            let entry = format!("{camel}MapEntry");
            out.push_str(&format!("  repeated {entry}{decl}\n"));
            entries.push_str(&format!(
                "message {entry} {{\n  {} key = 1;\n  {} value = 2;\n}}\n",
                k.trim(),
                v.trim()
            ));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out + &entries
}
