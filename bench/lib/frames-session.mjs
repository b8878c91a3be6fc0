// A frames-mode session on a wasm build, with the shape the benchmarks use (start,
// pushFrame, setWantedEvents, stop, free): the build's `Engine` driven directly (no
// sockets, no timers: the time the session and its objects take), or, for builds made
// before the socket driver moved to TypeScript, their wasm `Connection`.
export function framesSession(glue, session, onBatch) {
  if (typeof glue.Connection === 'function') return new glue.Connection({ transport: 'frames', session }, onBatch);
  const e = new glue.Engine({ transport: 'frames', session });
  let conn = -1;
  const drain = () => {
    for (;;) {
      const batch = [];
      const actions = e.poll(batch);
      if (!actions && batch.length === 0) return;
      if (batch.length > 0) onBatch(batch);
      for (const a of actions ?? []) {
        if (a[0] === 0) {
          conn = a[1];
          e.opened(conn, 0);
        }
      }
    }
  };
  return {
    start() {
      e.start(0);
      drain();
    },
    pushFrame(bytes) {
      e.frame(conn, bytes, 0);
      drain();
    },
    setWantedEvents(names) {
      e.setWantedEvents(names ?? undefined);
    },
    stop() {
      e.stop(0);
      drain();
    },
    free() {
      e.free();
    },
  };
}
