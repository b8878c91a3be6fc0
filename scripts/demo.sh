#!/usr/bin/env bash
# The demo, until the overlay lands: decode the bundled demo frame (made by our own
# encoder, see crates/tikcast/src/fixture.rs) and print its events as JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p tikcast --locked
echo "# tikcast decode --frame-info tests/fixtures/demo-frame.bin" >&2
./target/release/tikcast decode --frame-info tests/fixtures/demo-frame.bin
