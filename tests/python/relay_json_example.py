"""Runs the Python example of docs/relay.md (JSON event mode) against `tikcast relay`
with the bundled demo recording as its upstream, and checks what it printed against the
demo script (tests/fixtures/demo-session.jsonl): every chat comment in order, one line per
gift and per finished gift streak (count and name from the gift catalog), the room title
first and the stream-end close (4005) last.

Run by scripts/test.sh (npm test) with the venv of tests/python/requirements.txt:
    target/pyenv/bin/python tests/python/relay_json_example.py
TIKCAST_BIN names the tikcast binary (default target/debug/tikcast).
"""

import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def documented_example():
    """The first ```python block of docs/relay.md, exactly as documented."""
    with open(os.path.join(ROOT, "docs", "relay.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"```python\n(.*?)```", text, re.S)
    assert m, "docs/relay.md has no ```python block"
    return m.group(1)


def expected_lines():
    """What the example must print for the demo session, from the script itself."""
    with open(os.path.join(ROOT, "tests", "fixtures", "demo-gifts.json"), encoding="utf-8") as f:
        gift_names = {g["id"]: g["name"] for g in json.load(f)}
    nick, title, chats, gifts = {}, None, [], []
    with open(os.path.join(ROOT, "tests", "fixtures", "demo-session.jsonl"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            e = json.loads(line)
            kind = e["type"]
            if kind == "room":
                title = e["title"]
            elif kind == "user":
                nick[e["handle"]] = e["nickname"]
            elif kind == "chat":
                chats.append(f'chat: {nick[e["user"]]}: {e["comment"]}')
            elif kind == "gift":
                gifts.append((e["t"], f'gift: {nick[e["user"]]} x1 {gift_names[e["giftId"]]}'))
            elif kind == "streak":
                # One gift event when the streak ends (its last message).
                end = e["t"] + (e["count"] - 1) * e["every"]
                gifts.append((end, f'gift: {nick[e["user"]]} x{e["count"]} {gift_names[e["giftId"]]}'))
    return title, chats, [g for _, g in sorted(gifts)]


def main():
    binary = os.environ.get("TIKCAST_BIN", os.path.join(ROOT, "target", "debug", "tikcast"))
    recording = os.path.join(ROOT, "tests", "fixtures", "demo-session.tkrec")
    relay = subprocess.Popen(
        [binary, "relay", "--listen", "127.0.0.1:0", "--upstream", f"replay:{recording}",
         "--speed", "20", "--no-auth", "--max-seconds", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        addr = json.loads(relay.stdout.readline())["listening"]
        with tempfile.TemporaryDirectory() as tmp:
            example = os.path.join(tmp, "json_events.py")
            with open(example, "w", encoding="utf-8") as f:
                f.write(documented_example())
            url = f"ws://{addr}/ws?uniqueId=demo.host&format=json&events=chat,gift"
            run = subprocess.run([sys.executable, example, url], capture_output=True,
                                 text=True, timeout=60)
    finally:
        relay.kill()
        relay.wait()
    assert run.returncode == 0, f"the example failed ({run.returncode}):\n{run.stderr}"
    lines = run.stdout.splitlines()
    title, chats, gifts = expected_lines()
    assert len(chats) == 39 and chats[-1] == "chat: Zed <i>: good night", chats[-1]
    assert lines[0] == f"room: {title}", lines[0]
    assert lines[-1] == "closed: 4005 stream end", lines[-1]
    got_chats = [l for l in lines if l.startswith("chat: ")]
    got_gifts = [l for l in lines if l.startswith("gift: ")]
    assert got_chats == chats, f"chats differ:\n got {got_chats}\nwant {chats}"
    assert got_gifts == gifts, f"gifts differ:\n got {got_gifts}\nwant {gifts}"
    assert len(lines) == 2 + len(chats) + len(gifts), "unexpected lines:\n" + run.stdout
    print(f"relay json example ok: {len(chats)} chats, {len(gifts)} gifts, closed 4005")


if __name__ == "__main__":
    main()
