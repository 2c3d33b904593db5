//! One WebSocket client, as an async task on the HTTP server's I/O thread. tungstenite runs
//! in non-blocking mode on the client socket: reads and writes return `WouldBlock` and the
//! task waits for socket readiness, a bus event or its timer, whichever comes first.

use super::filter::Filter;
use super::{ClientSlot, WsHub, WS_QUEUE};
use crate::bus::{Interest, LiveEvent};
use smol::future::{self, FutureExt};
use smol::Async;
use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Error, Message, WebSocket};

/// Messages waiting to be written (one committed batch may expand to many); beyond this a
/// batch's remaining readings are dropped for this client and counted, and the client's own
/// messages are not read (their replies would have no room) until it takes what is queued.
const OUTBOX: usize = 1024;
/// Client messages handled per wake-up, so that a client that sends nonstop shares the I/O
/// thread with every other connection.
const READS_PER_WAKE: usize = 16;
/// Client messages (subscriptions, pings) allowed per second on average, and in a burst. A
/// client above the rate is disconnected (`ws.disconnected_flood`).
const MESSAGES_PER_SECOND: u32 = 20;
const MESSAGE_BURST: u32 = 60;

/// Small buffers for a router (tungstenite's defaults are 128 KiB buffers, 64 MiB messages).
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(64 * 1024)
        .max_message_size(Some(4 * 1024))
        .max_frame_size(Some(4 * 1024))
}

enum Wake {
    Io,
    Event(LiveEvent),
    Timer,
}

enum End {
    Closed,
    Slow,
    Idle,
    Flood,
}

/// A token bucket over the client's messages.
struct Rate {
    tokens: u32,
    refilled: Instant,
}

impl Rate {
    fn new() -> Rate {
        Rate {
            tokens: MESSAGE_BURST,
            refilled: Instant::now(),
        }
    }

    /// Takes one message's token; false when the client is over its rate.
    fn take(&mut self, now: Instant) -> bool {
        let whole = now.duration_since(self.refilled).as_millis() as u64
            * u64::from(MESSAGES_PER_SECOND)
            / 1000;
        if whole > 0 {
            let earned = u32::try_from(whole).unwrap_or(u32::MAX);
            self.tokens = self.tokens.saturating_add(earned).min(MESSAGE_BURST);
            self.refilled = now;
        }
        match self.tokens.checked_sub(1) {
            Some(left) => {
                self.tokens = left;
                true
            }
            None => false,
        }
    }
}

pub(super) async fn run(
    hub: Arc<WsHub>,
    _slot: ClientSlot,
    client: Async<TcpStream>,
    early: Vec<u8>,
) {
    let subscription = hub.bus.subscribe(Interest::ALL, WS_QUEUE);
    let mut ws =
        WebSocket::from_partially_read(client.get_ref(), early, Role::Server, Some(config()));
    let counters = &hub.counters;
    let ping = hub.settings.ping_interval;
    let mut filter = Filter::default();
    let mut outbox: VecDeque<String> = VecDeque::new();
    let mut rendered = Vec::new();
    let mut last_heard = Instant::now();
    let mut next_ping = Instant::now() + ping;
    let mut stalled_since: Option<Instant> = None;
    let mut dropped_seen = 0;
    let mut rate = Rate::new();
    let end = loop {
        let now = Instant::now();
        let read = read_some(
            &mut ws,
            &mut filter,
            &mut outbox,
            &mut last_heard,
            &mut rate,
        );
        let more_to_read = match read {
            Ok(more) => more,
            Err(end) => break end,
        };
        if now.duration_since(last_heard) > ping * 3 {
            break End::Idle;
        }
        let mut pending_ping = false;
        if now >= next_ping {
            next_ping = now + ping;
            pending_ping = true;
        }
        // Take bus events only while the socket drains: otherwise the bus queue fills and the
        // bus drops (and counts) for this client.
        if stalled_since.is_none() {
            while outbox.len() < OUTBOX {
                let Ok(event) = subscription.receiver().try_recv() else {
                    break;
                };
                render(&hub, &filter, &event, &mut outbox, &mut rendered);
            }
        }
        let dropped = subscription.dropped();
        counters.dropped.fetch_add(dropped - dropped_seen, Relaxed);
        dropped_seen = dropped;
        if pending_ping {
            let _ = ws.write(Message::Ping(Default::default()));
        }
        if let Err(()) = write_all(&hub, &mut ws, &mut outbox) {
            break End::Closed;
        }
        match ws.flush() {
            Ok(()) if outbox.is_empty() => stalled_since = None,
            Ok(()) => {}
            Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                stalled_since.get_or_insert(now);
            }
            Err(_) => break End::Closed,
        }
        if stalled_since.is_some_and(|s| now.duration_since(s) >= hub.settings.stall_timeout) {
            break End::Slow;
        }
        let deadline = match stalled_since {
            Some(since) => next_ping.min(since + hub.settings.stall_timeout),
            None => next_ping,
        };
        // More to read, or queued messages the socket can take now: go on after every other
        // connection has had its turn.
        let can_write_more = !outbox.is_empty() && stalled_since.is_none();
        if (more_to_read && outbox.len() < OUTBOX) || can_write_more {
            future::yield_now().await;
            continue;
        }
        let readable = outbox.len() < OUTBOX;
        let stalled = stalled_since.is_some();
        let wake = wait(&client, &subscription, readable, stalled, deadline).await;
        if let Wake::Event(event) = wake {
            render(&hub, &filter, &event, &mut outbox, &mut rendered);
        }
    };
    match end {
        End::Closed => {}
        End::Slow => {
            counters.disconnected_slow.fetch_add(1, Relaxed);
            log::info!("ws client disconnected: its socket did not drain");
        }
        End::Idle => {
            counters.disconnected_idle.fetch_add(1, Relaxed);
            log::info!("ws client disconnected: no answer to pings");
        }
        End::Flood => {
            counters.disconnected_flood.fetch_add(1, Relaxed);
            log::info!(
                "ws client disconnected: more than {MESSAGES_PER_SECOND} messages/s \
                 (burst {MESSAGE_BURST})"
            );
            let _ = ws.close(Some(tungstenite::protocol::CloseFrame {
                code: tungstenite::protocol::frame::coding::CloseCode::Policy,
                reason: "message rate".into(),
            }));
        }
    }
    // Best effort: a polite close frame if the socket takes it now.
    let _ = ws.close(None);
    let _ = ws.flush();
}

async fn wait(
    client: &Async<TcpStream>,
    subscription: &crate::bus::Subscription,
    readable: bool,
    stalled: bool,
    deadline: Instant,
) -> Wake {
    let readable = async {
        if readable {
            let _ = client.readable().await;
            Wake::Io
        } else {
            future::pending().await
        }
    };
    let writable = async {
        if stalled {
            let _ = client.writable().await;
            Wake::Io
        } else {
            future::pending().await
        }
    };
    let event = async {
        if stalled {
            return future::pending().await;
        }
        match subscription.receiver().recv().await {
            Ok(event) => Wake::Event(event),
            Err(_) => future::pending().await,
        }
    };
    let timer = async {
        smol::Timer::at(deadline.max(Instant::now() + Duration::from_millis(1))).await;
        Wake::Timer
    };
    readable.or(writable).or(event).or(timer).await
}

fn render(
    hub: &WsHub,
    filter: &Filter,
    event: &LiveEvent,
    outbox: &mut VecDeque<String>,
    rendered: &mut Vec<String>,
) {
    rendered.clear();
    let skipped = filter.render(event, OUTBOX.saturating_sub(outbox.len()), rendered);
    hub.counters.dropped.fetch_add(skipped as u64, Relaxed);
    outbox.extend(rendered.drain(..));
}

/// Reads the client messages available now, at most [`READS_PER_WAKE`] and only while the
/// outbox has room for their replies. `Ok(true)`: there may be more to read.
fn read_some(
    ws: &mut WebSocket<&TcpStream>,
    filter: &mut Filter,
    outbox: &mut VecDeque<String>,
    last_heard: &mut Instant,
    rate: &mut Rate,
) -> Result<bool, End> {
    for _ in 0..READS_PER_WAKE {
        if outbox.len() >= OUTBOX {
            return Ok(false);
        }
        match ws.read() {
            Ok(message) => {
                let now = Instant::now();
                *last_heard = now;
                if !rate.take(now) {
                    return Err(End::Flood);
                }
                if let Message::Text(text) = message {
                    // Replies go first so a client sees "subscribed" before filtered events.
                    outbox.push_front(filter.apply(text.as_str()));
                }
            }
            Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(_) => return Err(End::Closed),
        }
    }
    Ok(true)
}

/// Hands queued messages to tungstenite until its write buffer is full.
fn write_all(
    hub: &WsHub,
    ws: &mut WebSocket<&TcpStream>,
    outbox: &mut VecDeque<String>,
) -> Result<(), ()> {
    while let Some(text) = outbox.pop_front() {
        match ws.write(Message::text(text)) {
            Ok(()) => {}
            // Queued; the flush that follows reports whether the socket took it.
            Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
            Err(Error::WriteBufferFull(message)) => {
                if let Message::Text(text) = *message {
                    outbox.push_front(text.as_str().to_owned());
                }
                return Ok(());
            }
            Err(_) => return Err(()),
        }
        hub.counters.events_sent.fetch_add(1, Relaxed);
    }
    Ok(())
}
