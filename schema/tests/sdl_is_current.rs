//! The committed SDL (`schema/schema.graphql`) must match the schema the code builds,
//! so frontend teams can review API changes in diffs.

#[test]
fn committed_sdl_matches_the_code() {
    let committed = include_str!("../schema.graphql");
    let current = entmoot_schema::schema_sdl();
    assert!(
        committed == current,
        "schema/schema.graphql is stale; regenerate it with `entmoot graphql-schema > schema/schema.graphql`"
    );
}
