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

/// Wraps a stream so that it ends when the server shuts down, with keep-alives.
fn sse<S: Stream<Item = Event> + Send + 'static>(
    state: &AppState,
    events: S,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + Send + 'static + use<S>> {
    let events = events
        .map(Ok)
        .take_until(state.shutdown().clone().cancelled_owned());
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE_INTERVAL))
}

/// The SSE comment sent every [`KEEP_ALIVE_INTERVAL`] so that proxies keep the stream open.
const KEEP_ALIVE_FRAME: &[u8] = b":\n\n";

/// What the scoreboard stream sends next.
enum Next {
    Board,
    KeepAlive,
}

/// SSE of the scoreboard: `data` is the same JSON as `GET /scoreboard`, sent at once and on
/// every change (unnamed events, so `EventSource.onmessage` sees them; `id` = change seq).
///
/// Each change is encoded once into a complete SSE frame ([`Published::frame`]); a client
/// only clones that shared buffer (no per-client JSON or formatting work), and one that
/// reads slowly skips to the latest board.
#[utoipa::path(get, path = "/api/v1/scoreboard/stream", tag = "public",
    responses((status = 200, description = "text/event-stream of scoreboard JSON", content_type = "text/event-stream", body = String)))]
pub async fn scoreboard(State(state): State<AppState>, caller: Caller) -> Response {
    let mut receiver = state.subscribe(caller.is_staff());
    receiver.mark_changed();
    let guard = ClientGuard::new(state.clone());
    // One timer per client, reset only when it fires: a board sent does not touch it.
    let keep_alive = Box::pin(tokio::time::sleep(KEEP_ALIVE_INTERVAL));
    let frames = stream::unfold(
        (receiver, keep_alive, guard),
        |(mut receiver, mut keep_alive, guard)| async move {
            let next = tokio::select! {
                changed = receiver.changed() => {
                    changed.ok()?;
                    Next::Board
                }
                () = &mut keep_alive => Next::KeepAlive,
            };
            let frame = match next {
                Next::Board if guard.0.streams_ended() => return None,
                Next::Board => receiver.borrow_and_update().frame.clone(),
                Next::KeepAlive => {
                    keep_alive
                        .as_mut()
                        .reset(tokio::time::Instant::now() + KEEP_ALIVE_INTERVAL);
                    Bytes::from_static(KEEP_ALIVE_FRAME)
                }
            };
            Some((Ok::<_, Infallible>(frame), (receiver, keep_alive, guard)))
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
    Ok(sse(&state, batches))
}
