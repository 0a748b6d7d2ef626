//! What a field costs in the complexity count that `SchemaLimits::max_complexity`
//! bounds: a plain field costs 1; a page of a connection costs its size times what
//! each item asks for; a field that computes (geometry, validation, rendering,
//! spatial search) carries a fixed charge for that work on top of what it selects.
//!
//! The charges are set against `MAX_COMPLEXITY`: the console's largest page (100
//! projects with 100 sites each) costs about 61,000, so fits; a page of pages of pages
//! (100 × 100 × 100 jobs) or dozens of geometry computations in one request do not.

/// The most one operation may cost (async-graphql's `limit_complexity`).
pub const MAX_COMPLEXITY: usize = 100_000;

/// The page size a connection uses when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// The largest page a connection serves.
pub const MAX_PAGE_SIZE: usize = 100;

/// `Site.buildableArea`: offsetting and differencing the site's polygons (cached, but a
/// cold one is seconds on a large site). At most 50 in one request.
pub const BUILDABLE_AREA: usize = 2_000;
/// `checkLayoutEdits` / `saveLayoutEdits`: the problem prepared again and the whole
/// layout validated. At most 20 in one request.
pub const LAYOUT_EDIT_CHECK: usize = 5_000;
/// `exportLayout`: the problem prepared again and a file rendered. At most 10.
pub const LAYOUT_EXPORT: usize = 10_000;
/// `Layout.geojson`: a document that can run to megabytes.
pub const LAYOUT_GEOJSON: usize = 200;
/// `sitesIntersecting` / `buildingsWithin`: a spatial query, on top of its results.
pub const SPATIAL_SEARCH: usize = 1_000;
/// `Job.layouts`: a job has at most 20 alternatives.
pub const JOB_LAYOUTS: usize = 20;

/// The cost of a connection page: its size (`first` or `last`, else the default,
/// at most the maximum) times what each item selects, plus the field itself.
///
/// ```
/// use entmoot_schema::costs::page;
/// assert_eq!(page(Some(100), None, 3), 301);
/// assert_eq!(page(None, None, 3), 61);
/// // A page larger than the maximum is refused by the resolver; here it counts as
/// // the maximum, and a negative one as one item.
/// assert_eq!(page(Some(10_000), None, 1), 101);
/// assert_eq!(page(Some(-5), None, 1), 2);
/// ```
pub fn page(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first.or(last).map_or(DEFAULT_PAGE_SIZE, |size| {
        usize::try_from(size).unwrap_or(1).clamp(1, MAX_PAGE_SIZE)
    });
    size.saturating_mul(child_complexity).saturating_add(1)
}

/// The cost of a spatial search: the query, and its results (`first`, 100 when
/// omitted, at most 500) times what each selects.
pub fn spatial_search(first: Option<i32>, child_complexity: usize) -> usize {
    let most = first.map_or(100, |most| usize::try_from(most).unwrap_or(1).clamp(1, 500));
    SPATIAL_SEARCH.saturating_add(list(most, child_complexity))
}

/// The cost of a result list of at most `most` items, each selecting `child_complexity`.
pub fn list(most: usize, child_complexity: usize) -> usize {
    most.saturating_mul(child_complexity).saturating_add(1)
}
