//! `Connection`: a core `Session` driven over a WebSocket, timers and the JS clock.
//!
//! Everything the session asks for is carried out in [`pump`]: outputs are taken while
//! the state is borrowed, socket and timer work is done, and only then, with every
//! borrow released, the user's `onBatch` callback is invoked once with all the events
//! and state changes of that turn (so a callback may call `stop()` safely).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use tikcast_core::client::with_query;
use tikcast_core::session::{
    GiveUp, Mode, Output, ReconnectPolicy, Session, SessionConfig, StateChange,
};
use tikcast_core::ConnId;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{BinaryType, WebSocket};

use crate::error;
use crate::js;
use crate::tape;

/// Where frames come from.
enum Transport {
    /// A relay (`tikcast relay`, or a hosted one): `url?uniqueId=…&jwtKey=…&cursor=…`.
    Relay {
        url: String,
        unique_id: Option<String>,
        jwt: Option<String>,
        get_jwt: Option<Function>,
    },
    /// A TikTok-style socket whose signed URL the app supplies before every attempt.
    SignedUrl { get_url: Function },
    /// No socket: the app pushes frames (`pushFrame`).
    Frames,
}

/// An open (or opening) socket and the handlers it owns.
struct Socket {
    conn: ConnId,
    ws: WebSocket,
    _handlers: [Closure<dyn FnMut(JsValue)>; 4],
}

impl Socket {
    /// Detaches the handlers now (late events of this socket can no longer reach the
    /// session), closes the socket, and frees the handlers once the current JS task is
    /// over: one of them may be the caller, and a closure must not be freed while it runs.
    fn retire(self, code: u16, reason: &str) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        let _ = self.ws.close_with_code_and_reason(code, reason);
        wasm_bindgen_futures::spawn_local(async move { drop(self) });
    }
}

struct Timer {
    handle: JsValue,
    _callback: Closure<dyn FnMut()>,
}

struct Inner {
    session: Session,
    transport: Transport,
    websocket: Option<Function>,
    socket: Option<Socket>,
    timer: Option<Timer>,
    /// Virtual connection of the `frames` transport.
    frames_conn: Option<ConnId>,
    on_batch: Function,
    /// Hand every received frame to JS as `{type:'rawData', bytes}` (a `rawData` listener).
    raw: bool,
    raw_frames: Vec<Uint8Array>,
    started_at: f64,
    last_now: u64,
    me: Weak<RefCell<Inner>>,
}

/// A live connection. See the crate docs; the npm package's `TikTokLiveConnection`
/// wraps it.
///
/// ```ts
/// const c = new Connection({ transport: 'frames' }, (batch) => render(batch));
/// c.start();
/// c.pushFrame(bytes);
/// ```
#[wasm_bindgen]
pub struct Connection {
    inner: Rc<RefCell<Inner>>,
}

#[wasm_bindgen]
impl Connection {
    /// `options`: `{ transport: 'relay' | 'signedUrl' | 'frames', url?, uniqueId?, jwt?,
    /// getJwt?, signedUrl?, roomId?, WebSocket?, session? }`, where `session` holds the
    /// engine's settings (`livenessTimeoutMs`, `connectTimeoutMs`, `heartbeatIntervalMs`,
    /// `dedupCapacity`, `processInitialData`, `giftStreakTimeoutMs`, `giftRaw`,
    /// `likeAggregateMs`, `maxAttempts`, `stopWhenOffline`, `waitingDelayMs`,
    /// `transientBaseMs`, `transientCapMs`, `seed`). `onBatch(items)` receives arrays of
    /// event objects, `{type:'state', state, ...}` and `{type:'roomInfo', data}`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue, on_batch: Function) -> Result<Connection, JsValue> {
        let transport_name =
            js::opt_string(&options, "transport").unwrap_or_else(|| "relay".into());
        let (transport, mode) = match transport_name.as_str() {
            "relay" => {
                let url = js::opt_string(&options, "url").ok_or_else(|| {
                    error::invalid_options(
                        "relay transport needs a url, e.g. wss://relay.example/ws",
                    )
                })?;
                check_ws_url(&url)?;
                (
                    Transport::Relay {
                        url,
                        unique_id: js::opt_string(&options, "uniqueId"),
                        jwt: js::opt_string(&options, "jwt"),
                        get_jwt: js::opt_fn(&options, "getJwt"),
                    },
                    Mode::Relay,
                )
            }
            "signedUrl" => {
                let get_url = js::opt_fn(&options, "signedUrl").ok_or_else(|| {
                    error::invalid_options(
                        "signedUrl transport needs signedUrl: () => Promise<string>, called before every connect",
                    )
                })?;
                (Transport::SignedUrl { get_url }, Mode::Direct)
            }
            "frames" => (Transport::Frames, Mode::Relay),
            other => {
                return Err(error::invalid_options(&format!(
                    "unknown transport {other:?}; use relay, signedUrl or frames"
                )))
            }
        };
        let room_id = js::opt_u64(&options, "roomId")?.unwrap_or(0);
        if mode == Mode::Direct && room_id == 0 {
            return Err(error::invalid_options(
                "signedUrl transport needs roomId (the room the signed url is for)",
            ));
        }
        let config = session_config(&js::get(&options, "session"), mode, room_id, &transport)?;
        let websocket = js::opt_fn(&options, "WebSocket");
        let inner = Rc::new_cyclic(|me| {
            RefCell::new(Inner {
                session: Session::new(config),
                transport,
                websocket,
                socket: None,
                timer: None,
                frames_conn: None,
                on_batch,
                raw: false,
                raw_frames: Vec::new(),
                started_at: js_sys::Date::now(),
                last_now: 0,
                me: me.clone(),
            })
        });
        Ok(Connection { inner })
    }

    /// Starts connecting (the first attempt is immediate).
    pub fn start(&self) {
        {
            let mut inner = self.inner.borrow_mut();
            let now = inner.now();
            inner.session.start(now);
        }
        pump(&self.inner);
    }

    /// Stops for good: closes the socket, closes running gift streaks (their final
    /// `gift` events arrive in the last batch), releases every handler and timer.
    pub fn stop(&self) {
        {
            let Ok(mut inner) = self.inner.try_borrow_mut() else {
                return;
            };
            let now = inner.now();
            inner.session.stop(now);
        }
        pump(&self.inner);
    }

    /// Feeds one raw push frame (the `frames` transport: from an extension, Electron, a
    /// file or a replay).
    #[wasm_bindgen(js_name = pushFrame)]
    pub fn push_frame(&self, bytes: &[u8]) -> Result<(), JsValue> {
        {
            let mut inner = self.inner.borrow_mut();
            let Some(conn) = inner
                .frames_conn
                .filter(|c| inner.session.current_conn() == Some(*c))
            else {
                return Err(error::error(
                    "not_connected",
                    "pushFrame needs the frames transport, started and not stopped",
                ));
            };
            let now = inner.now();
            if inner.raw {
                inner.raw_frames.push(Uint8Array::from(bytes));
            }
            inner.session.on_frame(now, conn, bytes);
        }
        pump(&self.inner);
        Ok(())
    }

    /// Also deliver every received frame as `{ type: 'rawData', bytes }`, before its
    /// events (for a `rawData` listener: recording, forwarding, debugging).
    #[wasm_bindgen(js_name = setRawFrames)]
    pub fn set_raw_frames(&self, on: bool) {
        self.inner.borrow_mut().raw = on;
    }

    /// Decode only what these event names need (`null`: everything).
    #[wasm_bindgen(js_name = setWantedEvents)]
    pub fn set_wanted_events(&self, names: Option<Vec<String>>) {
        self.inner.borrow_mut().session.set_wanted_events(names);
    }

    /// Counters: connects, frames, messages, duplicates, skipped, ...
    pub fn stats(&self) -> JsValue {
        js::session_stats(&self.inner.borrow().session.stats())
    }

    /// The newest resume cursor seen (empty before the first batch).
    pub fn cursor(&self) -> String {
        self.inner.borrow().session.cursor().to_string()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            inner.release();
        }
    }
}

fn check_ws_url(url: &str) -> Result<(), JsValue> {
    if url.starts_with("ws://") || url.starts_with("wss://") {
        Ok(())
    } else {
        Err(error::invalid_options(&format!(
            "url must start with ws:// or wss://, got {:?}",
            url.chars().take(40).collect::<String>()
        )))
    }
}

fn session_config(
    o: &JsValue,
    mode: Mode,
    room_id: u64,
    transport: &Transport,
) -> Result<SessionConfig, JsValue> {
    let d = SessionConfig::default();
    let p = ReconnectPolicy::default();
    let frames = matches!(transport, Transport::Frames);
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

impl Inner {
    /// Milliseconds since the connection was made, never going backwards (the wall
    /// clock may).
    fn now(&mut self) -> u64 {
        let t = (js_sys::Date::now() - self.started_at).max(0.0) as u64;
        self.last_now = self.last_now.max(t);
        self.last_now
    }

    fn release(&mut self) {
        if let Some(s) = self.socket.take() {
            s.retire(1000, "client stopped");
        }
        self.clear_timer();
        self.frames_conn = None;
    }

    fn clear_timer(&mut self) {
        if let Some(t) = self.timer.take() {
            if let Some(clear) = global_fn("clearTimeout") {
                let _ = clear.call1(&JsValue::NULL, &t.handle);
            }
            // The timer's own callback may be what is running now: free it later.
            wasm_bindgen_futures::spawn_local(async move { drop(t) });
        }
    }

    /// Arms one `setTimeout` for the session's next deadline.
    fn reschedule(&mut self) {
        self.clear_timer();
        let Some(at) = self.session.poll_timeout() else {
            return;
        };
        let now = self.now();
        // setTimeout takes a 32-bit delay; longer waits simply wake up early.
        let delay = at.saturating_sub(now).min(2_000_000_000) as f64;
        let me = self.me.clone();
        let callback = Closure::<dyn FnMut()>::new(move || {
            let Some(rc) = me.upgrade() else { return };
            {
                let Ok(mut inner) = rc.try_borrow_mut() else {
                    return;
                };
                if let Some(t) = inner.timer.take() {
                    wasm_bindgen_futures::spawn_local(async move { drop(t) });
                }
                let now = inner.now();
                inner.session.handle_timeout(now);
            }
            pump(&rc);
        });
        if let Some(set) = global_fn("setTimeout") {
            if let Ok(handle) = set.call2(&JsValue::NULL, callback.as_ref(), &delay.into()) {
                self.timer = Some(Timer {
                    handle,
                    _callback: callback,
                });
            }
        }
    }
}

fn global_fn(name: &str) -> Option<Function> {
    js::get(&js_sys::global(), name).dyn_into::<Function>().ok()
}

/// Carries out everything the session asked for, then hands the user one batch.
fn pump(rc: &Rc<RefCell<Inner>>) {
    loop {
        let batch = Array::new();
        let mut connects: Vec<ConnId> = Vec::new();
        let on_batch;
        {
            let Ok(mut inner) = rc.try_borrow_mut() else {
                return;
            };
            for bytes in inner.raw_frames.drain(..) {
                let o = js::object();
                js::set(&o, "type", &"rawData".into());
                js::set(&o, "bytes", &bytes);
                batch.push(&o);
            }
            let outputs = inner.session.poll_outputs();
            if outputs.is_empty() && batch.length() == 0 {
                inner.reschedule();
                return;
            }
            for output in outputs {
                match output {
                    Output::Connect { conn, .. } => {
                        if let Some(old) = inner.socket.take() {
                            old.retire(1000, "reconnecting");
                        }
                        connects.push(conn);
                    }
                    Output::Send { conn, frame } => {
                        if let Some(s) = inner.socket.as_ref().filter(|s| s.conn == conn) {
                            if s.ws.send_with_u8_array(&frame).is_err() {
                                // The close event that follows reports it to the session.
                                let _ = s.ws.close();
                            }
                        }
                    }
                    Output::Close { conn, code, reason } => {
                        if inner.socket.as_ref().is_some_and(|s| s.conn == conn) {
                            if let Some(s) = inner.socket.take() {
                                s.retire(code, &reason);
                            }
                        }
                        if inner.frames_conn == Some(conn) {
                            inner.frames_conn = None;
                        }
                    }
                    Output::Events(events) => {
                        // Written straight from the frame's bytes into the tape, then
                        // built as JS objects in one crossing. Building cannot fail short
                        // of a bug in tape.js; the batch still goes out.
                        if let Ok(Err(e)) = tape::with_tape(&batch, |t| events.write(t)) {
                            // Over the output budget: the frame's events are dropped, as
                            // a frame that does not decode.
                            batch.push(&js::state_change(&StateChange::frame_dropped(&e)));
                        }
                    }
                    Output::RoomInfo(text) => {
                        let o = js::object();
                        js::set(&o, "type", &"roomInfo".into());
                        let data =
                            js_sys::JSON::parse(&text).unwrap_or_else(|_| text.as_str().into());
                        js::set(&o, "data", &data);
                        batch.push(&o);
                    }
                    Output::State(state) => {
                        batch.push(&js::state_change(&state));
                    }
                    Output::GiveUp(g) => {
                        batch.push(&stopped(&g));
                        inner.release();
                    }
                }
            }
            if !inner.session.is_stopped() {
                inner.reschedule();
            }
            on_batch = inner.on_batch.clone();
        }
        if batch.length() > 0 {
            let _ = on_batch.call1(&JsValue::NULL, &batch);
        }
        for conn in connects {
            open(rc, conn);
        }
    }
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

/// Opens the socket for attempt `conn`: fetch a fresh credential or signed URL first.
fn open(rc: &Rc<RefCell<Inner>>, conn: ConnId) {
    let frames = matches!(rc.borrow().transport, Transport::Frames);
    if frames {
        {
            let mut inner = rc.borrow_mut();
            inner.frames_conn = Some(conn);
            let now = inner.now();
            inner.session.on_open(now, conn);
        }
        pump(rc);
        return;
    }
    let weak = Rc::downgrade(rc);
    wasm_bindgen_futures::spawn_local(async move {
        let url = credential_url(&weak).await;
        let Some(rc) = weak.upgrade() else { return };
        if rc.borrow().session.current_conn() != Some(conn) {
            return; // The session gave up on this attempt meanwhile.
        }
        let result = url.and_then(|url| connect_socket(&rc, conn, &url));
        match result {
            Ok(socket) => rc.borrow_mut().socket = Some(socket),
            Err(reason) => {
                {
                    let mut inner = rc.borrow_mut();
                    let now = inner.now();
                    inner.session.on_close(now, conn, 1006, &reason);
                }
                pump(&rc);
            }
        }
    });
}

/// The URL for one attempt, with the newest cursor and a fresh credential.
async fn credential_url(weak: &Weak<RefCell<Inner>>) -> Result<String, String> {
    enum Plan {
        Relay(
            String,
            Vec<(&'static str, String)>,
            Option<Function>,
            Option<String>,
        ),
        Signed(Function),
    }
    let plan = {
        let Some(rc) = weak.upgrade() else {
            return Err("connection was dropped".into());
        };
        let inner = rc.borrow();
        match &inner.transport {
            Transport::Relay {
                url,
                unique_id,
                jwt,
                get_jwt,
            } => {
                let mut params = Vec::new();
                if let Some(id) = unique_id {
                    params.push(("uniqueId", id.clone()));
                }
                if !inner.session.cursor().is_empty() {
                    params.push(("cursor", inner.session.cursor().to_string()));
                }
                Plan::Relay(url.clone(), params, get_jwt.clone(), jwt.clone())
            }
            Transport::SignedUrl { get_url } => Plan::Signed(get_url.clone()),
            Transport::Frames => return Err("frames transport has no url".into()),
        }
    };
    match plan {
        Plan::Relay(url, mut params, get_jwt, jwt) => {
            let jwt = match get_jwt {
                Some(f) => Some(call_for_string(&f, "getJwt").await?),
                None => jwt,
            };
            if let Some(jwt) = jwt {
                params.push(("jwtKey", jwt));
            }
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            Ok(with_query(&url, &params))
        }
        Plan::Signed(f) => {
            let url = call_for_string(&f, "signedUrl").await?;
            if !(url.starts_with("ws://") || url.starts_with("wss://")) {
                return Err(
                    "signedUrl returned something that is not a ws:// or wss:// url".into(),
                );
            }
            Ok(url)
        }
    }
}

/// Calls a user callback that returns a string or a promise of one. Failure messages
/// name the callback, never the value (it may be a credential).
async fn call_for_string(f: &Function, name: &str) -> Result<String, String> {
    let v = f
        .call0(&JsValue::NULL)
        .map_err(|_| format!("{name}() threw; check the callback"))?;
    let v = match v.dyn_into::<Promise>() {
        Ok(p) => JsFuture::from(p)
            .await
            .map_err(|_| format!("{name}() was rejected; check the callback"))?,
        Err(v) => v,
    };
    v.as_string()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{name}() must resolve to a non-empty string"))
}

fn connect_socket(rc: &Rc<RefCell<Inner>>, conn: ConnId, url: &str) -> Result<Socket, String> {
    let ctor = rc.borrow().websocket.clone();
    let ws: WebSocket = match ctor {
        Some(ctor) => {
            let args = Array::of1(&url.into());
            Reflect::construct(&ctor, &args)
                .map_err(|_| "the WebSocket constructor option threw for this url".to_string())?
                .unchecked_into()
        }
        None => WebSocket::new(url).map_err(|_| {
            "cannot open a WebSocket here (pass a WebSocket constructor, e.g. from the ws package, in Node)"
                .to_string()
        })?,
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let weak = Rc::downgrade(rc);
    let handler = |f: fn(&mut Inner, u64, ConnId, JsValue)| {
        let weak = weak.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            let Some(rc) = weak.upgrade() else { return };
            {
                let Ok(mut inner) = rc.try_borrow_mut() else {
                    return;
                };
                let now = inner.now();
                f(&mut inner, now, conn, ev);
            }
            pump(&rc);
        })
    };
    let onopen = handler(|inner, now, conn, _| inner.session.on_open(now, conn));
    let onmessage = handler(|inner, now, conn, ev| {
        let data = js::get(&ev, "data");
        if let Some(text) = data.as_string() {
            inner.session.on_text(now, conn, &text);
        } else if data.is_instance_of::<js_sys::ArrayBuffer>() {
            let view = Uint8Array::new(&data);
            let bytes = view.to_vec();
            if inner.raw {
                inner.raw_frames.push(view);
            }
            inner.session.on_frame(now, conn, &bytes);
        }
    });
    let onclose = handler(|inner, now, conn, ev| {
        let code = js::get(&ev, "code").as_f64().unwrap_or(1006.0) as u16;
        let reason = js::get(&ev, "reason").as_string().unwrap_or_default();
        if inner.socket.as_ref().is_some_and(|s| s.conn == conn) {
            if let Some(s) = inner.socket.take() {
                s.retire(1000, "");
            }
        }
        inner.session.on_close(now, conn, code, &reason);
    });
    // An error is always followed by a close event, which carries the code.
    let onerror = handler(|_, _, _, _| {});
    ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
    ws.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    Ok(Socket {
        conn,
        ws,
        _handlers: [onopen, onmessage, onclose, onerror],
    })
}
