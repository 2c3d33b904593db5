//! `GET /api/v1/telemetry`: stored readings, or with `step` and `agg` one rollup point per
//! non-empty bucket of one series (see `store::rollup` for the bucket rules).
//!
//! Both modes answer with the same list shape and `{device, metric, ts, value}` items, so a
//! chart reads either with one type. Their cursors differ in form (a rollup cursor starts with
//! `r`), and a cursor of one mode given to the other, or to a rollup of another step, is `400`:
//! it would silently resume at the wrong place.

use super::respond::{
    internal, json_response, param, parse_limit, reject_params, ApiError, JsonResponse, List,
};
use super::state::AppState;
use crate::store::{Agg, Cursor, Rollup, RollupCursor, TelemetryQuery};
use crate::timestamp::parse_ms_or_rfc3339;

/// The largest step, in seconds: 366 days.
pub const MAX_STEP_S: i64 = 366 * 86_400;

/// The one message for a rollup's `step`, `agg`, `device` or `metric` being off: a static
/// text costs the build less than one formatted message per case.
const ROLLUP_USAGE: &str = "a rollup needs 'step' (whole seconds, 1 to 31622400), 'agg' (mean, \
                            min, max, count or last), 'device' and 'metric'";

pub(super) fn telemetry(
    state: &AppState,
    params: &[(String, String)],
) -> Result<JsonResponse, ApiError> {
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
                    ApiError::BadRequest(format!(
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
    // A cursor of the other mode (or of another step) would resume at a wrong place.
    let bad_cursor = |c: &str| {
        ApiError::BadRequest(format!(
            "'cursor' {c:?} is not a next_cursor of this query (readings, or a rollup of this step)"
        ))
    };
    let query = TelemetryQuery {
        device,
        metric,
        from_ms,
        to_ms,
        limit,
        after: None,
    };
    let page = match (param(params, "step"), param(params, "agg")) {
        (None, None) => {
            let after = match cursor {
                Some(c) => Some(Cursor::decode(c).ok_or_else(|| bad_cursor(c))?),
                None => None,
            };
            let query = TelemetryQuery { after, ..query };
            state.store.lock().telemetry(query, None)
        }
        (step, agg) => {
            let usage = || ApiError::BadRequest(ROLLUP_USAGE.into());
            let step_s = step.and_then(|s| s.parse::<i64>().ok());
            let step_ms = step_s
                .filter(|s| matches!(s, 1..=MAX_STEP_S))
                .ok_or_else(usage)?
                * 1000;
            let agg = agg.and_then(Agg::parse).ok_or_else(usage)?;
            if query.device.is_none() || query.metric.is_none() {
                return Err(usage());
            }
            let after = match cursor {
                Some(c) => Some(
                    RollupCursor::decode(c)
                        .filter(|rc| rc.step_ms == step_ms)
                        .ok_or_else(|| bad_cursor(c))?,
                ),
                None => None,
            };
            let rollup = Rollup {
                step_ms,
                agg,
                after,
            };
            state.store.lock().telemetry(query, Some(&rollup))
        }
    }
    .map_err(internal)?;
    Ok(json_response(
        200,
        &List {
            items: page.items,
            next_cursor: page.next_cursor,
        },
    ))
}
