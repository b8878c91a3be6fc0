//! `Engine`: the core's `Session` for a JS driver. Time and bytes in, batch items and
//! socket actions out; the sockets, timers, clock and the app's async callbacks live in
//! the npm package (`js/src/socket-driver.ts`), which carries out what [`Engine::poll`]
//! returns.
//!
//! The socket driver used to be Rust (web-sys `WebSocket`, `Closure`s, `setTimeout`,
//! `wasm-bindgen-futures` for the credential callbacks). Measured: it was 22 kB of the
//! module's gzip plus 3 kB of glue (bench/RESULTS.md, "the socket driver in TypeScript");
//! the same work in TypeScript is about 3 kB unminified, and the engine does every
//! protocol step as before.

use js_sys::{Array, Uint8Array};
use tikcast_core::session::{GiveUp, Mode, Output, ReconnectPolicy, Session, SessionConfig};
use tikcast_core::ConnId;
use wasm_bindgen::prelude::*;

use crate::error;
use crate::js;
use crate::tape;

/// Socket actions [`Engine::poll`] returns, each an array whose first item is one of
/// these (the rest: the fields named).
const CONNECT: u32 = 0; // [0, conn]
const SEND: u32 = 1; // [1, conn, bytes]
const CLOSE: u32 = 2; // [2, conn, code, reason]
const RELEASE: u32 = 3; // [3]: stopped for good, close the socket and clear the timer

/// A session. See the module docs; `js/src/socket-driver.ts` drives it.
///
/// ```ts
/// const e = new Engine({ transport: 'frames' });
/// e.start(0);
/// const batch = [];
/// const actions = e.poll(batch); // [[0, 1]]: open connection 1
/// ```
#[wasm_bindgen]
pub struct Engine {
    session: Session,
    /// The prototype of events with a `user` (`undefined`: plain objects).
    event_proto: JsValue,
}

#[wasm_bindgen]
impl Engine {
    /// Checks `options` (`{ transport: 'relay' | 'signedUrl' | 'frames', url?, signedUrl?,
    /// roomId?, session? }`, as the driver was given them) and makes the session.
    /// `session` holds the engine's settings (`livenessTimeoutMs`, `connectTimeoutMs`,
    /// `heartbeatIntervalMs`, `dedupCapacity`, `processInitialData`,
    /// `giftStreakTimeoutMs`, `giftRaw`, `likeAggregateMs`, `maxAttempts`,
    /// `stopWhenOffline`, `waitingDelayMs`, `transientBaseMs`, `transientCapMs`,
    /// `failFast`, `seed`). Throws `invalid_options` for a wrong one.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<Engine, JsValue> {
        let transport = js::opt_string(&options, "transport").unwrap_or_else(|| "relay".into());
        let mode = match transport.as_str() {
            "relay" => {
                let url = js::opt_string(&options, "url").ok_or_else(|| {
                    error::invalid_options(
                        "relay transport needs a url, e.g. wss://relay.example/ws",
                    )
                })?;
                check_ws_url(&url)?;
                Mode::Relay
            }
            "signedUrl" => {
                js::opt_fn(&options, "signedUrl").ok_or_else(|| {
                    error::invalid_options(
                        "signedUrl transport needs signedUrl: () => Promise<string>, called before every connect",
                    )
                })?;
                Mode::Direct
            }
            "frames" => Mode::Relay,
            other => {
                return Err(error::invalid_options(&format!(
                    "unknown transport \"{}\"; use relay, signedUrl or frames",
                    short(other)
                )))
            }
        };
        let room_id = js::opt_u64(&options, "roomId")?.unwrap_or(0);
        if mode == Mode::Direct && room_id == 0 {
            return Err(error::invalid_options(
                "signedUrl transport needs roomId (the room the signed url is for)",
            ));
        }
        let frames = transport == "frames";
        let config = session_config(&js::get(&options, "session"), mode, room_id, frames)?;
        Ok(Engine {
            session: Session::new(config),
            event_proto: JsValue::UNDEFINED,
        })
    }

    /// Starts connecting (the first attempt is immediate). `now`: milliseconds on the
    /// driver's clock, never going backwards.
    pub fn start(&mut self, now: f64) {
        self.session.start(ms(now));
    }

    /// Stops for good: running gift streaks get their final `gift` events.
    pub fn stop(&mut self, now: f64) {
        self.session.stop(ms(now));
    }

    /// Socket `conn` is open.
    pub fn opened(&mut self, conn: f64, now: f64) {
        self.session.on_open(ms(now), ConnId(conn as u64));
    }

    /// Makes events with a `user` (and none of `proto`'s own keys) with `proto` as their
    /// prototype: the SDK's flat v2 sender fields are getters on it, and an event made
    /// with it costs less than one given it afterwards (`Object.setPrototypeOf`, 3-4 % of
    /// a frame in Chromium). Anything but an object: plain objects again.
    #[wasm_bindgen(js_name = setEventPrototype)]
    pub fn set_event_prototype(&mut self, proto: JsValue) {
        self.event_proto = if proto.is_object() {
            proto
        } else {
            JsValue::UNDEFINED
        };
    }

    /// A binary frame arrived on `conn`.
    pub fn frame(&mut self, conn: f64, bytes: &[u8], now: f64) {
        self.session.on_frame(ms(now), ConnId(conn as u64), bytes);
    }

    /// A text message arrived on `conn` (a relay's room description).
    pub fn text(&mut self, conn: f64, text: &str, now: f64) {
        self.session.on_text(ms(now), ConnId(conn as u64), text);
    }

    /// Socket `conn` closed, or could not be opened (code 1006 and why).
    pub fn closed(&mut self, conn: f64, code: u16, reason: &str, now: f64) {
        self.session
            .on_close(ms(now), ConnId(conn as u64), code, reason);
    }

    /// The deadline [`Engine::deadline`] gave has passed.
    pub fn timeout(&mut self, now: f64) {
        self.session.handle_timeout(ms(now));
    }

    /// When to call [`Engine::timeout`] next (driver clock), or -1 for never.
    pub fn deadline(&self) -> f64 {
        self.session.poll_timeout().map_or(-1.0, |t| t as f64)
    }

    /// Everything the session asked for since the last poll: batch items (event objects,
    /// `{type:'state', …}`, `{type:'roomInfo', data}`) are pushed onto `batch`; the socket
    /// actions are returned in order (see the constants above), or `undefined` when the
    /// session asked for nothing at all.
    pub fn poll(&mut self, batch: &Array) -> JsValue {
        let outputs = self.session.poll_outputs();
        if outputs.is_empty() {
            return JsValue::UNDEFINED;
        }
        let actions = Array::new();
        for output in outputs {
            match output {
                Output::Connect { conn, .. } => {
                    actions.push(&Array::of2(&CONNECT.into(), &id(conn)));
                }
                Output::Send { conn, frame } => {
                    let bytes = Uint8Array::from(frame.as_slice());
                    actions.push(&Array::of3(&SEND.into(), &id(conn), &bytes));
                }
                Output::Close { conn, code, reason } => {
                    actions.push(&Array::of4(
                        &CLOSE.into(),
                        &id(conn),
                        &code.into(),
                        &reason.as_str().into(),
                    ));
                }
                Output::Events(events) => {
                    // Written straight from the frame's bytes into the tape, then built as
                    // JS objects in one crossing. Building cannot fail short of a bug in
                    // tape.js; the batch still goes out.
                    if let Ok(Err(e)) =
                        tape::with_tape(batch, &self.event_proto, |t| events.write(t))
                    {
                        // Over the output budget: the frame's events are dropped, as a
                        // frame that does not decode.
                        batch.push(&js::state_change(
                            &tikcast_core::session::StateChange::frame_dropped(&e),
                        ));
                    }
                }
                Output::RoomInfo(text) => {
                    let o = js::object();
                    js::set(&o, "type", &"roomInfo".into());
                    let data = js_sys::JSON::parse(&text).unwrap_or_else(|_| text.as_str().into());
                    js::set(&o, "data", &data);
                    batch.push(&o);
                }
                Output::State(state) => {
                    batch.push(&js::state_change(&state));
                }
                Output::GiveUp(g) => {
                    batch.push(&stopped(&g));
                    actions.push(&Array::of1(&RELEASE.into()));
                }
            }
        }
        actions.into()
    }

    /// The attempt the session is on (-1: none).
    #[wasm_bindgen(js_name = currentConn)]
    pub fn current_conn(&self) -> f64 {
        self.session.current_conn().map_or(-1.0, |c| c.0 as f64)
    }

    #[wasm_bindgen(js_name = isStopped)]
    pub fn is_stopped(&self) -> bool {
        self.session.is_stopped()
    }

    /// Decode only what these event names need (`null`: everything).
    #[wasm_bindgen(js_name = setWantedEvents)]
    pub fn set_wanted_events(&mut self, names: Option<Vec<String>>) {
        self.session.set_wanted_events(names);
    }

    /// Counters: connects, frames, messages, duplicates, skipped, ...
    pub fn stats(&self) -> JsValue {
        js::session_stats(&self.session.stats())
    }

    /// The newest resume cursor seen (empty before the first batch).
    pub fn cursor(&self) -> String {
        self.session.cursor().to_string()
    }
}

fn ms(now: f64) -> u64 {
    // `as` saturates: NaN and negatives are 0.
    now as u64
}

fn id(conn: ConnId) -> JsValue {
    (conn.0 as f64).into()
}

/// At most 40 characters of an option's value, for an error message (without `{:?}`,
/// whose escaping tables cost 3 kB of the module).
fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

fn check_ws_url(url: &str) -> Result<(), JsValue> {
    if url.starts_with("ws://") || url.starts_with("wss://") {
        Ok(())
    } else {
        Err(error::invalid_options(&format!(
            "url must start with ws:// or wss://, got \"{}\"",
            short(url)
        )))
    }
}

fn session_config(
    o: &JsValue,
    mode: Mode,
    room_id: u64,
    frames: bool,
) -> Result<SessionConfig, JsValue> {
    let d = SessionConfig::default();
    let p = ReconnectPolicy::default();
    Ok(SessionConfig {
        mode,
        room_id,
        heartbeat_interval_ms: js::opt_u64(o, "heartbeatIntervalMs")?
            .unwrap_or(d.heartbeat_interval_ms),
        // Pushed frames have no liveness to watch: the app decides when they stop.
        liveness_timeout_ms: if frames {
            u64::MAX / 4
        } else {
            js::opt_u64(o, "livenessTimeoutMs")?.unwrap_or(d.liveness_timeout_ms)
        },
        connect_timeout_ms: js::opt_u64(o, "connectTimeoutMs")?.unwrap_or(d.connect_timeout_ms),
        reconnect: ReconnectPolicy {
            max_attempts: match js::opt_u64(o, "maxAttempts")? {
                Some(0) => None,
                Some(n) => Some(u32::try_from(n).unwrap_or(u32::MAX)),
                None => p.max_attempts,
            },
            stop_when_offline: js::opt_bool(o, "stopWhenOffline").unwrap_or(p.stop_when_offline),
            waiting_delay_ms: js::opt_u64(o, "waitingDelayMs")?.unwrap_or(p.waiting_delay_ms),
            transient_base_ms: js::opt_u64(o, "transientBaseMs")?.unwrap_or(p.transient_base_ms),
            transient_cap_ms: js::opt_u64(o, "transientCapMs")?.unwrap_or(p.transient_cap_ms),
            // In the browser a refused first socket is a wrong URL, a relay that is down or
            // one that refuses this page's origin: say so at once (opt out: failFast false).
            fail_fast: js::opt_bool(o, "failFast").unwrap_or(!frames),
            ..p
        },
        dedup_capacity: js::opt_u64(o, "dedupCapacity")?
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .unwrap_or(d.dedup_capacity),
        process_initial_data: js::opt_bool(o, "processInitialData")
            .unwrap_or(d.process_initial_data),
        gift_streak_timeout_ms: js::opt_u64(o, "giftStreakTimeoutMs")?
            .unwrap_or(d.gift_streak_timeout_ms),
        gift_raw: js::opt_bool(o, "giftRaw").unwrap_or(d.gift_raw),
        like_aggregate_ms: js::opt_u64(o, "likeAggregateMs")?,
        decode: d.decode,
        seed: js::opt_u64(o, "seed")?.unwrap_or_else(|| {
            (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64 ^ (js_sys::Date::now() as u64)
        }),
    })
}

/// The final state object: `{type:'state', state:'stopped', code, closeCode, message,
/// retryAfterMs, error}` where `error` is a `TikcastError` for every reason but a
/// requested stop.
fn stopped(g: &GiveUp) -> JsValue {
    let o = js::object();
    js::set(&o, "type", &"state".into());
    js::set(&o, "state", &"stopped".into());
    js::set(&o, "code", &g.code().into());
    js::set(
        &o,
        "closeCode",
        &g.close_code.map_or(JsValue::NULL, JsValue::from),
    );
    let message = g.to_string();
    js::set(&o, "message", &message.as_str().into());
    let retry = g
        .retry_after_ms
        .map_or(JsValue::NULL, |ms| (ms as f64).into());
    js::set(&o, "retryAfterMs", &retry);
    if g.code() != "stopped" {
        let e = error::error(g.code(), &message);
        js::set(&e, "retryAfterMs", &retry);
        js::set(&o, "error", &e);
    }
    o.into()
}
