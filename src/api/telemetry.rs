//! `GET /api/v1/telemetry`: stored readings, or with `step` and `agg` one rollup point per
//! non-empty bucket of one series (see `store::rollup` for the bucket rules).
//!
//! Both modes answer with the same list shape and `{device, metric, ts, value}` items, so a
//! chart reads either with one type. Their cursors differ in form (a rollup cursor starts with
//! `r`), and a cursor of one mode given to the other, or to a rollup of another step, is `400`:
//! it would silently resume at the wrong place.

use super::respond::{json_response, ApiError, List};
use super::routes::{internal, lock, param, parse_limit, reject_params, Json};
use super::state::AppState;
use crate::store::{Agg, Cursor, RollupCursor, RollupQuery, TelemetryQuery};
use crate::timestamp::parse_ms_or_rfc3339;

/// The largest step, in seconds: 366 days.
pub const MAX_STEP_S: i64 = 366 * 86_400;

pub(super) fn telemetry(state: &AppState, params: &[(String, String)]) -> Result<Json, ApiError> {
    reject_params(
        params,
        &[
            "device", "metric", "from", "to", "limit", "cursor", "step", "agg",
        ],
    )?;
    let time = |name: &str| -> Result<Option<i64>, ApiError> {
        param(params, name)
            .map(|v| {
                parse_ms_or_rfc3339(v).ok_or_else(|| {
                    bad(format!(
                        "'{name}' must be epoch milliseconds or RFC 3339, got {v:?}"
                    ))
                })
            })
            .transpose()
    };
    let (from_ms, to_ms, limit) = (time("from")?, time("to")?, parse_limit(params)?);
    let device = param(params, "device").map(str::to_owned);
    let metric = param(params, "metric").map(str::to_owned);
    let cursor = param(params, "cursor");
    let rollup = match (param(params, "step"), param(params, "agg")) {
        (None, None) => None,
        (Some(step), Some(agg)) => Some((step, agg)),
        _ => return Err(bad("'step' and 'agg' go together".into())),
    };
    let Some((step, agg)) = rollup else {
        let after = cursor
            .map(|c| {
                Cursor::decode(c).ok_or_else(|| {
                    let why = if RollupCursor::decode(c).is_some() {
                        "is a rollup cursor: pass its step and agg"
                    } else {
                        "is not valid"
                    };
                    bad(format!("'cursor' {c:?} {why}"))
                })
            })
            .transpose()?;
        let query = TelemetryQuery {
            device,
            metric,
            from_ms,
            to_ms,
            limit,
            after,
        };
        let page = lock(state).query(&query).map_err(internal)?;
        return Ok(list(page.items, page.next_cursor.map(|c| c.encode())));
    };
    let step_ms = match step.parse::<i64>() {
        Ok(s) if (1..=MAX_STEP_S).contains(&s) => s * 1000,
        _ => {
            return Err(bad(format!(
                "'step' must be whole seconds 1..={MAX_STEP_S}, got {step:?}"
            )))
        }
    };
    let agg = Agg::parse(agg).ok_or_else(|| {
        bad(format!(
            "'agg' must be mean, min, max, count or last, got {agg:?}"
        ))
    })?;
    let (Some(device), Some(metric)) = (device, metric) else {
        return Err(bad(
            "a rollup is of one series: 'device' and 'metric' are required".into(),
        ));
    };
    let after = cursor
        .map(|c| match RollupCursor::decode(c) {
            Some(rc) if rc.step_ms == step_ms => Ok(rc),
            _ => Err(bad(format!(
                "'cursor' {c:?} is not the next_cursor of a rollup with step={}",
                step_ms / 1000
            ))),
        })
        .transpose()?;
    let query = RollupQuery {
        device,
        metric,
        from_ms,
        to_ms,
        step_ms,
        agg,
        limit,
        after,
    };
    let page = lock(state).rollup(&query).map_err(internal)?;
    Ok(list(page.items, page.next_cursor.map(|c| c.encode())))
}

fn list<T: serde::Serialize>(items: Vec<T>, next_cursor: Option<String>) -> Json {
    json_response(200, &List { items, next_cursor })
}

fn bad(message: String) -> ApiError {
    ApiError::BadRequest(message)
}
