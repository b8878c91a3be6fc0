"""Seeds for the reader's fuzz targets (crates/tikcast-core/fuzz), made from the real captures at run time.
Usage: python3 bench/fuzz_seeds.py CORPUS_DIR OUT_DIR [DECODE_RS]
Writes OUT_DIR/reader_frame, OUT_DIR/reader_batch, OUT_DIR/reader_message and OUT_DIR/session_batch (one file a seed; OUT_DIR is under
target/, never committed: the captures are not ours to ship).
- reader_message: the selector byte then one captured payload, up to 6 a method (the smallest, the largest and
  4 more); the selector is the method's index in KNOWN_METHODS, read from the `methods!` table in DECODE_RS
  (default crates/tikcast-core/src/decode.rs); a captured method the decoder does not know gets the "unknown" value.
- reader_batch: 300 batches of 1-8 captured messages (envelopes as make_frames.py writes them, then batch fields).
- reader_frame: those batches in push frames (gzip with a compress_type header, bare with none, bare with
  compress_type=none), 20 whole frames from ../shared/bench/make_frames.py, and a heartbeat echo.
- session_batch: the reader_batch seeds, and 100 batches of 2-10 gift messages (a fifth of them likes instead)."""
import base64, glob, gzip, json, os, random, re, struct, subprocess, sys, tempfile

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F; n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n: return bytes(out)

def field(num, wire, payload):
    key = varint((num << 3) | wire)
    if wire == 0: return key + varint(payload)
    if isinstance(payload, str): payload = payload.encode()
    return key + varint(len(payload)) + payload

corpus, out_dir = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
decode_rs = sys.argv[3] if len(sys.argv) > 3 else os.path.join(here, '../crates/tikcast-core/src/decode.rs')
src = open(decode_rs).read()
table = re.search(r'^methods! \{(.*?)^\}', src, re.S | re.M)
if not table:
    sys.exit(f'fuzz_seeds: no `methods! {{ ... }}` table in {decode_rs}; update bench/fuzz_seeds.py')
known = [m for row in re.findall(r'\[([^\]]*)\]\s*=>', table.group(1)) for m in re.findall(r'"([^"]+)"', row)]
if len(known) < 50 or known[0] != 'WebcastChatMessage':
    sys.exit(f'fuzz_seeds: read {len(known)} methods from {decode_rs}, expected KNOWN_METHODS; update bench/fuzz_seeds.py')
index = {m: i for i, m in enumerate(known)}
unknown = len(known)  # selector value of the unknown method (see fuzz/src/lib.rs `method_for`)

pool = {}
for f in sorted(glob.glob(os.path.join(corpus, '*.json'))):
    for method, samples in json.load(open(f)).items():
        pool.setdefault(method, []).extend(base64.b64decode(s['eventData']) for s in samples)
if not pool:
    sys.exit(f'fuzz_seeds: no capture logs (*.json) in {corpus}')

def write(target, name, data):
    d = os.path.join(out_dir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)

rng = random.Random(1)
counts = {'reader_message': 0, 'reader_batch': 0, 'reader_frame': 0, 'session_batch': 0}
for method in sorted(pool):
    payloads = sorted(pool[method], key=len)
    picks = {0, len(payloads) - 1} | set(rng.sample(range(len(payloads)), min(4, len(payloads))))
    for i in sorted(picks):
        sel = index.get(method, unknown)
        write('reader_message', f'{method}-{i}', bytes([sel]) + payloads[i])
        counts['reader_message'] += 1

all_msgs = [(m, p) for m in sorted(pool) for p in pool[m]]
msg_id = 7_300_000_000_000_000_000
for i in range(300):
    batch = bytearray()
    for _ in range(rng.randint(1, 8)):
        m, p = rng.choice(all_msgs)
        msg_id += 1
        batch += field(1, 2, field(1, 2, m) + field(2, 2, p) + field(3, 0, msg_id) + (field(6, 0, 1) if rng.random() < 0.1 else b''))
    batch += field(2, 2, f't-{1700000000000 + i}_r-1') + field(4, 0, 1700000000000 + i * 250)
    if i % 3 == 0:
        batch += field(5, 2, 'internal_src:pushserver|wss_msg_type:r') + field(9, 0, 1)
    if i % 5 == 0:
        batch += field(7, 2, field(1, 2, 'rk') + field(2, 2, 'rv'))
    batch = bytes(batch)
    write('reader_batch', f'batch-{i}', batch)
    counts['reader_batch'] += 1
    write('session_batch', f'batch-{i}', batch)
    counts['session_batch'] += 1
    head = field(1, 0, i + 1) + field(2, 0, 900_000 + i)
    kind = i % 3
    if kind == 0:
        frame = head + field(5, 2, field(1, 2, 'compress_type') + field(2, 2, 'gzip')) + field(6, 2, 'pb') + field(7, 2, 'msg') + field(8, 2, gzip.compress(batch, mtime=0))
    elif kind == 1:
        frame = head + field(6, 2, 'pb') + field(7, 2, 'msg') + field(8, 2, batch)
    else:
        frame = head + field(5, 2, field(1, 2, 'compress_type') + field(2, 2, 'none')) + field(7, 2, 'msg') + field(8, 2, batch)
    write('reader_frame', f'frame-{i}', frame)
    counts['reader_frame'] += 1
# The session's own seeds: gift streaks and likes, where it does most (streaks, `giftRaw`
# copies, like windows).
gifts = pool.get('WebcastGiftMessage', [])
likes = pool.get('WebcastLikeMessage', [])
for i in range(100 if gifts else 0):
    batch = bytearray()
    for _ in range(rng.randint(2, 10)):
        m, p = ('WebcastLikeMessage', rng.choice(likes)) if likes and rng.random() < 0.2 else ('WebcastGiftMessage', rng.choice(gifts))
        msg_id += 1
        batch += field(1, 2, field(1, 2, m) + field(2, 2, p) + field(3, 0, msg_id))
    write('session_batch', f'gifts-{i}', bytes(batch))
    counts['session_batch'] += 1
write('reader_frame', 'hb', field(1, 0, 1) + field(7, 2, 'hb'))
counts['reader_frame'] += 1

make_frames = os.path.join(here, '../../shared/bench/make_frames.py')
if not os.path.isfile(make_frames):
    make_frames = '/work/shared/bench/make_frames.py'
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, 'frames.bin')
    subprocess.run([sys.executable, make_frames, corpus, path, '20', '7'], check=True, stdout=subprocess.DEVNULL)
    data = open(path, 'rb').read()
    at, n = 0, 0
    while at + 4 <= len(data):
        (length,) = struct.unpack_from('<I', data, at)
        write('reader_frame', f'make-frames-{n}', data[at + 4:at + 4 + length])
        at += 4 + length; n += 1
        counts['reader_frame'] += 1
print(json.dumps({'known_methods': len(known), 'captured_methods': len(pool), **counts}))
