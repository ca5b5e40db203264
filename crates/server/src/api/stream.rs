//! Live streams (SSE): the scoreboard and a team's own events. Each scoreboard change is
//! encoded once and shared by every client through a `watch` channel, so a slow client only
//! ever skips to the latest state and never slows the game. Streams end on shutdown.

use std::convert::Infallible;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};

use crate::auth::{Caller, Team};
use crate::error::ApiError;
use crate::limits::{KEEP_ALIVE_INTERVAL, MAX_TEAM_EVENTS_PER_BATCH, TICK_INTERVAL};
use crate::state::AppState;
#[cfg(doc)]
use crate::state::Published;

/// Counts a stream client while it is connected.
struct ClientGuard(AppState);

impl ClientGuard {
    fn new(state: AppState) -> Self {
        state.stats().stream_clients.fetch_add(1, Ordering::Relaxed);
        Self(state)
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0
            .stats()
            .stream_clients
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Wraps a stream of events as SSE with keep-alives. The stream itself ends on shutdown
/// (see [`AppState::end_streams`]): polling the shutdown token per event would lock a mutex
/// shared by every client.
fn sse<S: Stream<Item = Event> + Send + 'static>(
    events: S,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + Send + 'static + use<S>> {
    Sse::new(events.map(Ok)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE_INTERVAL))
}

/// The SSE comment sent when a board stayed the same for a keep-alive interval, so that
/// proxies keep the stream open.
const KEEP_ALIVE_FRAME: &[u8] = b":\n\n";

/// SSE of the scoreboard: `data` is the same JSON as `GET /scoreboard`, sent at once and on
/// every change (unnamed events, so `EventSource.onmessage` sees them; `id` = change seq).
///
/// Each change is encoded once into a complete SSE frame ([`Published::frame`]); a client
/// only clones that shared buffer (no per-client JSON or formatting work), and one that
/// reads slowly skips to the latest board. A wake-up is one `watch` receive: keep-alives
/// arrive through the same channel (a wake-up with an unchanged `seq`, see
/// [`AppState::subscribe`]), so a client polls no timer of its own.
#[utoipa::path(get, path = "/api/v1/scoreboard/stream", tag = "public",
    responses((status = 200, description = "text/event-stream of scoreboard JSON", content_type = "text/event-stream", body = String)))]
pub async fn scoreboard(State(state): State<AppState>, caller: Caller) -> Response {
    let mut receiver = state.subscribe(caller.is_staff());
    receiver.mark_changed();
    let guard = ClientGuard::new(state);
    // The seq of the last board sent (none yet).
    let sent_seq: Option<u64> = None;
    let frames = stream::unfold(
        (receiver, sent_seq, guard),
        |(mut receiver, sent_seq, guard)| async move {
            receiver.changed().await.ok()?;
            if guard.0.streams_ended() {
                return None;
            }
            let (frame, seq) = {
                let board = receiver.borrow_and_update();
                if sent_seq == Some(board.seq) {
                    (Bytes::from_static(KEEP_ALIVE_FRAME), board.seq)
                } else {
                    (board.frame.clone(), board.seq)
                }
            };
            Some((Ok::<_, Infallible>(frame), (receiver, Some(seq), guard)))
        },
    );
    // Shutdown arrives through `receiver` (see `AppState::end_streams`): polling the shutdown
    // token per frame would lock a mutex shared by every client.
    let mut response = Body::from_stream(frames).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(EVENT_STREAM_CONTENT_TYPE),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Content type of server-sent events.
const EVENT_STREAM_CONTENT_TYPE: &str = "text/event-stream";

/// SSE of the team's own events and those for everyone (ledger, verdict, announcement, state, incident), each as
/// JSON `{seq, type, data}` with the SSE event name set to its `type`.
#[utoipa::path(get, path = "/api/v1/team/stream", tag = "team",
    responses((status = 200, description = "text/event-stream of the team's events", content_type = "text/event-stream", body = String)),
    security(("bearer" = [])))]
pub async fn team(
    State(state): State<AppState>,
    Team(team): Team,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + Send + 'static>, ApiError> {
    // A reconnecting EventSource resumes after the last event it saw; a new client gets the
    // recent history first.
    let resume_after = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let receiver = state.subscribe_changes();
    let guard = ClientGuard::new(state.clone());
    let batches = stream::unfold(
        (receiver, guard, resume_after, true),
        move |(mut receiver, guard, since, first)| async move {
            if !first {
                // Wake on any change of the game, or poll: some team events (alerts) do not
                // move the change counter.
                let _ = tokio::time::timeout(TICK_INTERVAL * 5, receiver.changed()).await;
                receiver.borrow_and_update();
            }
            if guard.0.streams_ended() {
                return None;
            }
            let state = guard.0.clone();
            let (events, next) = state
                .read_team(team, move |game| {
                    let mut events = game.team_events_since(team, since);
                    events.truncate(MAX_TEAM_EVENTS_PER_BATCH);
                    let next = events.last().map_or(since, |event| event.seq);
                    let encoded: Vec<Event> = events
                        .iter()
                        .filter_map(|event| {
                            let json = serde_json::to_value(event).ok()?;
                            let name = json["type"].as_str().unwrap_or("team").to_owned();
                            Event::default()
                                .event(name)
                                .id(event.seq.to_string())
                                .json_data(&json)
                                .ok()
                        })
                        .collect();
                    (encoded, next)
                })
                .await
                .ok()?;
            Some((stream::iter(events), (receiver, guard, next, false)))
        },
    )
    .flatten();
    Ok(sse(batches))
}
