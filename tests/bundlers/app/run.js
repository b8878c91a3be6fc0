// The app every bundler in tests/bundlers builds, written as a user would: import the
// package, decode a frame, push it through a connection, connect to a relay. Query:
// mode (main | worker), frame (URL of tests/fixtures/demo-frame.bin), relay (the mock's
// ws URL), messages (how many the mock sends). The outcome goes to window.result, which
// bundlers.test.mjs compares with the same package run in Node.
export async function run(tikcast, entry) {
  const q = new URLSearchParams(location.search);
  const worker = q.get('mode') === 'worker';
  const result = (window.result = { entry, done: false });
  try {
    const frame = new Uint8Array(await (await fetch(q.get('frame'))).arrayBuffer());
    result.frameBytes = frame.byteLength;
    if (!worker) {
      // Worker mode never loads the wasm on the page: no init(), no decodeFrame() here.
      await tikcast.init();
      result.version = tikcast.version();
      result.decoded = tikcast.decodeFrame(frame);
    }

    // Two connections at once, so in worker mode the second worker waits for the module
    // the first one compiles instead of fetching the .wasm again.
    await Promise.all([pushFrames(tikcast, frame, worker, result), relay(tikcast, q, worker, result)]);
  } catch (e) {
    result.error = { name: e?.name, code: e?.code, message: String(e?.message ?? e), isTikcastError: e instanceof tikcast.TikcastError };
  }
  result.done = true;
}

/** The frames transport: in worker mode the bytes are transferred to the worker. */
async function pushFrames(tikcast, frame, worker, result) {
  const pushed = new tikcast.TikTokLiveConnection('ada.demo', { frames: true, worker });
  result.pushed = [];
  pushed.on('decodedData', (e) => result.pushed.push(e));
  const stopped = new Promise((resolve) => pushed.once('stopped', resolve));
  await pushed.connect();
  // First as a view onto part of a larger buffer (copied: the larger buffer stays
  // usable), then the frame's own buffer (transferred in worker mode); the session drops
  // the second copy's messages as duplicates.
  const larger = new Uint8Array(frame.byteLength + 8);
  larger.set(frame, 4);
  pushed.pushFrame(larger.subarray(4, 4 + frame.byteLength));
  result.largerBytesAfterPush = larger.byteLength;
  pushed.pushFrame(frame);
  result.frameBytesAfterPush = frame.byteLength;
  result.pushedStats = await pushed.stats();
  pushed.disconnect();
  result.pushedStopped = (await stopped).code;
}

/** A relay connection (`tikcast mock`). */
async function relay(tikcast, q, worker, result) {
  const total = Number(q.get('messages'));
  const live = new tikcast.TikTokLiveConnection('ada.demo', { relay: { url: q.get('relay') }, worker });
  result.chats = [];
  result.ids = [];
  live.on('chat', (e) => result.chats.push({ msgId: e.msgId, comment: e.comment, uniqueId: e.user.uniqueId }));
  live.on('decodedData', (e) => {
    if (['gift', 'giftStreak', 'likeAggregate'].includes(e.type)) return;
    if (result.ids[result.ids.length - 1] !== e.msgId) result.ids.push(e.msgId);
  });
  const stopped = new Promise((resolve) => live.once('stopped', resolve));
  result.connected = await live.connect();
  const deadline = Date.now() + 10_000;
  while (result.ids.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  live.disconnect();
  result.liveStopped = (await stopped).code;
}
