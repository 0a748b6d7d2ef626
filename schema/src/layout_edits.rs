//! `checkLayoutEdits` and `saveLayoutEdits`: a planner's manual edits of a stored
//! layout, validated on the server with the validator every strategy uses; checked
//! edits are not stored, saved ones are stored only when valid.

use async_graphql::{
    Context, Enum, ErrorExtensions, ID, InputObject, Object, Result, SimpleObject,
};

use crate::errors::{ErrorCode, IntoGraphqlError, coded_error};
use crate::query::{app, caller};
use crate::scalars::GeoJson;
use entmoot_domain::ids::decode_typed_id;
use entmoot_domain::layout_edits::{
    LayoutEdit, LayoutEditError, SaveLayoutEditsError, StoredLayoutError, apply_edits,
    load_stored_layout, save_layout_edits,
};

/// What a manual edit does.
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

/// One manual change to a layout.
#[derive(InputObject)]
pub struct LayoutEditInput {
    /// What the edit does.
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

/// The most edits one check or save takes.
const MAX_EDITS: usize = 500;

fn edits_of(inputs: Vec<LayoutEditInput>) -> Result<Vec<LayoutEdit>> {
    if inputs.len() > MAX_EDITS {
        return Err(coded_error(
            ErrorCode::LimitExceeded,
            format!("at most {MAX_EDITS} edits at once"),
        ));
    }
    inputs
        .into_iter()
        .enumerate()
        .map(|(index, input)| edit_of(index, input))
        .collect()
}

fn violation_views(violations: &[entmoot_plugin_sdk::Violation]) -> Vec<LayoutViolation> {
    violations
        .iter()
        .map(|violation| LayoutViolation {
            rule: violation.rule.to_string(),
            asset_ids: violation.asset_ids.clone(),
            message: violation.message.clone(),
        })
        .collect()
}

impl IntoGraphqlError for SaveLayoutEditsError {
    fn into_graphql_error(self) -> async_graphql::Error {
        match self {
            SaveLayoutEditsError::Forbidden => coded_error(ErrorCode::Forbidden, self.to_string()),
            SaveLayoutEditsError::Edit(error) => error.into_graphql_error(),
            SaveLayoutEditsError::Invalid(ref violations) => {
                let list = serde_json::to_value(
                    violations
                        .iter()
                        .map(|violation| {
                            serde_json::json!({
                                "rule": violation.rule.to_string(),
                                "assetIds": violation.asset_ids,
                                "message": violation.message,
                            })
                        })
                        .collect::<Vec<_>>(),
                )
                .unwrap_or_default();
                coded_error(ErrorCode::BadUserInput, self.to_string()).extend_with(
                    |_, extensions| {
                        if let Ok(value) = async_graphql::Value::from_json(list.clone()) {
                            extensions.set("violations", value);
                        }
                    },
                )
            }
            SaveLayoutEditsError::HeavyWork(
                entmoot_domain::heavy_work::HeavyWorkError::OverBudget,
            ) => coded_error(ErrorCode::LimitExceeded, self.to_string()),
            SaveLayoutEditsError::HeavyWork(ref error) => {
                tracing::error!(%error, "saving layout edits failed");
                coded_error(ErrorCode::InternalServerError, "internal server error")
            }
            SaveLayoutEditsError::Store(ref error) => {
                tracing::error!(%error, "saving layout edits failed");
                coded_error(ErrorCode::InternalServerError, "internal server error")
            }
        }
    }
}

impl IntoGraphqlError for LayoutEditError {
    fn into_graphql_error(self) -> async_graphql::Error {
        match self {
            LayoutEditError::Layout(StoredLayoutError::NotFound) => {
                coded_error(ErrorCode::NotFound, "no layout with this id")
            }
            LayoutEditError::Layout(StoredLayoutError::Site(error)) => error.into_graphql_error(),
            LayoutEditError::Layout(StoredLayoutError::HeavyWork(
                entmoot_domain::heavy_work::HeavyWorkError::OverBudget,
            )) => coded_error(ErrorCode::LimitExceeded, self.to_string()),
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
    /// The assets involved.
    pub asset_ids: Vec<String>,
    /// The violation in words.
    pub message: String,
}

/// What the validator says of an edited layout.
#[derive(SimpleObject)]
pub struct LayoutCheck {
    /// No violations: the edited layout could be stored as it is.
    pub valid: bool,
    /// Every rule the edited layout breaks.
    pub violations: Vec<LayoutViolation>,
    /// Assets the edited layout places.
    pub placed_count: i32,
    /// Assets the program asks for.
    pub requested_count: i32,
    /// The edited layout as RFC 7946 GeoJSON, to draw.
    pub geojson: GeoJson,
    /// The program's assets the edited layout leaves out, in program order: what an
    /// ADD edit can place.
    pub unplaced_assets: Vec<UnplacedAsset>,
}

/// An asset of the program that a layout leaves out.
#[derive(SimpleObject)]
pub struct UnplacedAsset {
    /// The id an ADD edit names, e.g. `building-3`.
    pub asset_id: String,
    /// The program line's name.
    pub name: String,
    /// building, parking_lot, equipment_yard, storage_tank, pond or custom.
    pub asset_type: String,
    /// Footprint width in metres (the diameter of a round one).
    pub width_m: f64,
    /// Footprint length in metres.
    pub length_m: f64,
}

/// The stored layout edits apply to, read before anything else: an outsider gets
/// NOT_FOUND and learns nothing from errors about the edits.
async fn layout_to_edit(
    ctx: &Context<'_>,
    caller: &entmoot_domain::caller::Caller,
    layout_id: &ID,
) -> Result<entmoot_domain::layout_edits::StoredLayout> {
    let layout_id =
        decode_typed_id(layout_id, "Layout").map_err(IntoGraphqlError::into_graphql_error)?;
    load_stored_layout(&app(ctx).database, &app(ctx).storage, caller, layout_id)
        .await
        .map_err(|error| LayoutEditError::Layout(error).into_graphql_error())
}

#[derive(Default)]
pub struct LayoutEditQueries;

#[Object]
impl LayoutEditQueries {
    /// Applies manual edits (in order) to a copy of a stored layout and validates the
    /// result like every strategy's layouts are validated. Nothing is stored.
    #[graphql(complexity = "crate::costs::LAYOUT_EDIT_CHECK + child_complexity")]
    async fn check_layout_edits(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The stored layout the edits apply to.")] layout_id: ID,
        #[graphql(desc = "The edits, applied in order.")] edits: Vec<LayoutEditInput>,
    ) -> Result<LayoutCheck> {
        let caller = caller(ctx)?;
        let stored = layout_to_edit(ctx, caller, &layout_id).await?;
        let edits = edits_of(edits)?;
        // Validating a layout is CPU work: off the request thread.
        let checked = entmoot_domain::heavy_work::off_the_request_thread(move || {
            apply_edits(&stored.problem, &stored.layout, &edits)
                .map(|checked| {
                    let unplaced = unplaced_assets(&stored.problem, &checked.layout);
                    (checked, unplaced)
                })
                .map_err(IntoGraphqlError::into_graphql_error)
        })
        .await
        .map_err(|error| {
            crate::errors::coded_error(crate::errors::ErrorCode::LimitExceeded, error.to_string())
        })??;
        let (checked, unplaced) = checked;
        Ok(LayoutCheck {
            valid: checked.violations.is_empty(),
            violations: violation_views(&checked.violations),
            placed_count: i32::try_from(checked.metrics.placed).unwrap_or(i32::MAX),
            requested_count: i32::try_from(checked.metrics.requested).unwrap_or(i32::MAX),
            geojson: GeoJson(checked.geojson),
            unplaced_assets: unplaced,
        })
    }
}

fn unplaced_assets(
    problem: &entmoot_plugin_sdk::Problem,
    layout: &entmoot_plugin_sdk::Layout,
) -> Vec<UnplacedAsset> {
    problem
        .assets
        .iter()
        .filter(|spec| {
            !layout
                .assets
                .iter()
                .any(|placed| placed.asset_id == spec.asset_id)
        })
        .map(|spec| UnplacedAsset {
            asset_id: spec.asset_id.clone(),
            name: spec.name.clone(),
            asset_type: spec.asset_type.as_str().to_owned(),
            width_m: spec.width_m,
            length_m: spec.length_m,
        })
        .collect()
}

#[derive(Default)]
pub struct LayoutEditMutations;

#[Object]
impl LayoutEditMutations {
    /// Applies manual edits (in order) to a stored layout and stores the result as a
    /// new layout of the same site (`editedFrom` points at the original), when the
    /// shared validator finds no violation; otherwise nothing is stored and the error
    /// (BAD_USER_INPUT) lists them in `extensions.violations`. The saved layout becomes
    /// the site's `latestLayout` and can seed a job (`createJob(seedLayoutId)`).
    #[graphql(complexity = "crate::costs::LAYOUT_EDIT_CHECK + child_complexity")]
    async fn save_layout_edits(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The stored layout the edits apply to.")] layout_id: ID,
        #[graphql(desc = "The edits, applied in order.")] edits: Vec<LayoutEditInput>,
    ) -> Result<crate::types::LayoutNode> {
        let caller = caller(ctx)?;
        // The layout, then the role, then the edits.
        let stored = layout_to_edit(ctx, caller, &layout_id).await?;
        if !caller.can_write() {
            return Err(SaveLayoutEditsError::Forbidden.into_graphql_error());
        }
        let edits = edits_of(edits)?;
        save_layout_edits(&app(ctx).database, caller, &stored, &edits)
            .await
            .map(crate::types::LayoutNode)
            .map_err(IntoGraphqlError::into_graphql_error)
    }
}
