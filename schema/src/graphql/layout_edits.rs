//! `checkLayoutEdits`: a planner's manual edits of a stored layout, validated on the
//! server with the validator every strategy uses; nothing is stored.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};

use crate::domain::ids::decode_typed_id;
use crate::domain::layout_edits::{
    LayoutEdit, LayoutEditError, StoredLayoutError, apply_edits, load_stored_layout,
};
use crate::graphql::errors::{ErrorCode, IntoGraphqlError, coded_error};
use crate::graphql::query::{app, caller};
use crate::graphql::scalars::GeoJson;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum LayoutEditKind {
    /// Move the asset's centre to `position`.
    Move,
    /// Turn the asset to `rotationDeg`.
    Rotate,
    /// Take the asset out.
    Remove,
    /// Place a program asset the layout left out, at `position` and `rotationDeg`.
    Add,
}

#[derive(InputObject)]
pub struct LayoutEditInput {
    pub kind: LayoutEditKind,
    /// As in the layout's GeoJSON, e.g. `building-2`.
    pub asset_id: String,
    /// `[lon, lat]` for MOVE and ADD.
    pub position: Option<Vec<f64>>,
    /// Degrees for ROTATE and ADD (ADD defaults to 0).
    pub rotation_deg: Option<f64>,
}

fn edit_of(index: usize, input: LayoutEditInput) -> Result<LayoutEdit, async_graphql::Error> {
    let bad = |message: String| coded_error(ErrorCode::BadUserInput, message);
    let position = |input: &LayoutEditInput| -> Result<[f64; 2], async_graphql::Error> {
        match input.position.as_deref() {
            Some([lon, lat]) => Ok([*lon, *lat]),
            _ => Err(bad(format!(
                "edits[{index}].position: needs [lon, lat] for this kind of edit"
            ))),
        }
    };
    Ok(match input.kind {
        LayoutEditKind::Move => LayoutEdit::Move {
            to: position(&input)?,
            asset_id: input.asset_id,
        },
        LayoutEditKind::Rotate => LayoutEdit::Rotate {
            rotation_deg: input
                .rotation_deg
                .ok_or_else(|| bad(format!("edits[{index}].rotationDeg: needed to rotate")))?,
            asset_id: input.asset_id,
        },
        LayoutEditKind::Remove => LayoutEdit::Remove {
            asset_id: input.asset_id,
        },
        LayoutEditKind::Add => LayoutEdit::Add {
            at: position(&input)?,
            rotation_deg: input.rotation_deg.unwrap_or(0.0),
            asset_id: input.asset_id,
        },
    })
}

impl IntoGraphqlError for LayoutEditError {
    fn into_graphql_error(self) -> async_graphql::Error {
        match self {
            LayoutEditError::Layout(StoredLayoutError::NotFound) => {
                coded_error(ErrorCode::NotFound, "no layout with this id")
            }
            LayoutEditError::Layout(StoredLayoutError::Site(error)) => error.into_graphql_error(),
            LayoutEditError::Layout(error) => {
                tracing::error!(%error, "checking layout edits failed");
                coded_error(ErrorCode::InternalServerError, "internal server error")
            }
            other => coded_error(ErrorCode::BadUserInput, other.to_string()),
        }
    }
}

/// A rule the edited layout breaks.
#[derive(SimpleObject)]
pub struct LayoutViolation {
    /// The rule, e.g. `overlap`, `outside_buildable_area`, `spacing`.
    pub rule: String,
    pub asset_ids: Vec<String>,
    pub message: String,
}

/// What the validator says of an edited layout.
#[derive(SimpleObject)]
pub struct LayoutCheck {
    /// No violations: the edited layout could be stored as it is.
    pub valid: bool,
    pub violations: Vec<LayoutViolation>,
    pub placed_count: i32,
    pub requested_count: i32,
    /// The edited layout as RFC 7946 GeoJSON, to draw.
    pub geojson: GeoJson,
}

#[derive(Default)]
pub struct LayoutEditQueries;

#[Object]
impl LayoutEditQueries {
    /// Applies manual edits (in order) to a copy of a stored layout and validates the
    /// result like every strategy's layouts are validated. Nothing is stored.
    async fn check_layout_edits(
        &self,
        ctx: &Context<'_>,
        layout_id: ID,
        edits: Vec<LayoutEditInput>,
    ) -> Result<LayoutCheck> {
        let caller = caller(ctx)?;
        let layout_id =
            decode_typed_id(&layout_id, "Layout").map_err(IntoGraphqlError::into_graphql_error)?;
        // The layout, of the caller's organization, first: an outsider learns nothing
        // from edit errors.
        let stored = load_stored_layout(&app(ctx).database, caller, layout_id)
            .await
            .map_err(|error| LayoutEditError::Layout(error).into_graphql_error())?;
        if edits.len() > 500 {
            return Err(coded_error(
                ErrorCode::LimitExceeded,
                "at most 500 edits per check",
            ));
        }
        let edits = edits
            .into_iter()
            .enumerate()
            .map(|(index, input)| edit_of(index, input))
            .collect::<Result<Vec<_>>>()?;
        let checked = apply_edits(&stored.problem, &stored.layout, &edits)
            .map_err(IntoGraphqlError::into_graphql_error)?;
        Ok(LayoutCheck {
            valid: checked.violations.is_empty(),
            violations: checked
                .violations
                .iter()
                .map(|violation| LayoutViolation {
                    rule: violation.rule.to_string(),
                    asset_ids: violation.asset_ids.clone(),
                    message: violation.message.clone(),
                })
                .collect(),
            placed_count: i32::try_from(checked.metrics.placed).unwrap_or(i32::MAX),
            requested_count: i32::try_from(checked.metrics.requested).unwrap_or(i32::MAX),
            geojson: GeoJson(checked.geojson),
        })
    }
}
