//! Every real captured payload decodes, with no error and no panic.

mod common;

use tikcast_core::{decode::event_name_for_method, decode_message, Event};

#[test]
fn every_corpus_sample_decodes() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let samples = common::load_samples(&dir);
    assert!(
        samples.len() >= 70,
        "expected the ~76 captured methods, found {}",
        samples.len()
    );
    let mut failures = Vec::new();
    let mut total = 0;
    println!("{:<44} {:>7} {:>7}  event", "method", "samples", "ok");
    for (method, list) in &samples {
        let mut ok = 0;
        for s in list {
            total += 1;
            let events = decode_message(method, &s.payload);
            match events.first() {
                Some(Event::DecodeError(e)) => {
                    failures.push(format!("{} #{} ({}): {}", method, s.index, s.file, e.error))
                }
                Some(Event::Unknown(_)) => {
                    failures.push(format!("{method}: method is unknown to the decoder"))
                }
                Some(_) => ok += 1,
                None => failures.push(format!("{method} #{}: no event", s.index)),
            }
        }
        println!(
            "{:<44} {:>7} {:>7}  {}",
            method,
            list.len(),
            ok,
            event_name_for_method(method).unwrap_or("?")
        );
    }
    println!("{total} samples, {} failures", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {total} samples failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
