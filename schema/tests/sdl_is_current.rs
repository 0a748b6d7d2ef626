//! The committed SDL (`schema/schema.graphql`) must match the schema the code builds,
//! so frontend teams can review API changes in diffs, and every part of it must say
//! what it is for, so they need not read the Rust to use it.

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

#[test]
fn committed_sdl_matches_the_code() {
    let committed = include_str!("../schema.graphql");
    let current = entmoot_schema::schema_sdl();
    assert!(
        committed == current,
        "schema/schema.graphql is stale; regenerate it with `entmoot graphql-schema > schema/schema.graphql`"
    );
}

/// Rust implementation suffixes that must not leak into the API's type names.
const IMPLEMENTATION_SUFFIXES: &[&str] = &["View", "Model", "Dto", "Gql"];

#[test]
fn every_type_field_argument_and_enum_value_has_a_description() {
    let document = parse_schema(entmoot_schema::schema_sdl()).expect("the SDL parses");
    let mut undescribed = Vec::new();
    let mut badly_named = Vec::new();
    let mut check = |path: String, description: bool| {
        if !description {
            undescribed.push(path);
        }
    };
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(definition) = definition else {
            continue;
        };
        let definition = &definition.node;
        let type_name = definition.name.node.as_str();
        if IMPLEMENTATION_SUFFIXES
            .iter()
            .any(|suffix| type_name.ends_with(suffix))
        {
            badly_named.push(type_name.to_owned());
        }
        check(type_name.to_owned(), definition.description.is_some());
        match &definition.kind {
            TypeKind::Object(object) => {
                for field in &object.fields {
                    let field = &field.node;
                    let path = format!("{type_name}.{}", field.name.node);
                    for argument in &field.arguments {
                        let argument = &argument.node;
                        check(
                            format!("{path}({}:)", argument.name.node),
                            argument.description.is_some(),
                        );
                    }
                    check(path, field.description.is_some());
                }
            }
            TypeKind::Interface(interface) => {
                for field in &interface.fields {
                    let field = &field.node;
                    check(
                        format!("{type_name}.{}", field.name.node),
                        field.description.is_some(),
                    );
                }
            }
            TypeKind::InputObject(input) => {
                for field in &input.fields {
                    let field = &field.node;
                    check(
                        format!("{type_name}.{}", field.name.node),
                        field.description.is_some(),
                    );
                }
            }
            TypeKind::Enum(enumeration) => {
                for value in &enumeration.values {
                    let value = &value.node;
                    check(
                        format!("{type_name}.{}", value.value.node),
                        value.description.is_some(),
                    );
                }
            }
            TypeKind::Scalar | TypeKind::Union(_) => {}
        }
    }
    assert!(
        undescribed.is_empty(),
        "{} parts of the schema have no description (a `///` doc comment or `desc = \"…\"`):\n{}",
        undescribed.len(),
        undescribed.join("\n")
    );
    assert!(
        badly_named.is_empty(),
        "type names carry implementation suffixes: {badly_named:?}"
    );
}
