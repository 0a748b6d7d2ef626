//! Limits on the shape of a GraphQL document, checked right after parsing for every
//! transport (HTTP and websocket): tokens, aliases, repeated fields and circular
//! introspection. Depth, complexity and directive counts use async-graphql's own
//! limits (see `build_schema`). Each refusal is a request error with code
//! `LIMIT_EXCEEDED` that says which limit and by how much.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Pos, ServerError, ServerResult, Variables};

/// The limits, with graphql-armor's defaults where it has one.
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    pub max_tokens: usize,
    pub max_aliases: usize,
    /// How often one response key may repeat in one selection set.
    pub max_repeated_field: usize,
}

impl Default for DocumentLimits {
    fn default() -> Self {
        Self {
            max_tokens: 1_000,
            max_aliases: 15,
            max_repeated_field: 10,
        }
    }
}

fn limit_error(message: String) -> ServerError {
    let mut error = ServerError::new(message, Some(Pos { line: 1, column: 1 }));
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", "LIMIT_EXCEEDED");
    error.extensions = Some(extensions);
    error
}

/// Counts lexical tokens the way a GraphQL lexer would, without allocating: names,
/// numbers, strings (block strings too) and punctuators; commas, whitespace and
/// comments do not count.
pub fn count_tokens(source: &str) -> usize {
    let bytes = source.as_bytes();
    let mut index = 0;
    let mut tokens = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => index += 1,
            b'#' => {
                while index < bytes.len() && bytes[index] != b'\n' {
                    index += 1;
                }
            }
            b'"' => {
                tokens += 1;
                if bytes[index..].starts_with(b"\"\"\"") {
                    index += 3;
                    while index < bytes.len() && !bytes[index..].starts_with(b"\"\"\"") {
                        index += 1;
                    }
                    index += 3;
                } else {
                    index += 1;
                    while index < bytes.len() && bytes[index] != b'"' && bytes[index] != b'\n' {
                        if bytes[index] == b'\\' {
                            index += 1;
                        }
                        index += 1;
                    }
                    index += 1;
                }
            }
            b'.' if bytes[index..].starts_with(b"...") => {
                tokens += 1;
                index += 3;
            }
            _ if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' => {
                tokens += 1;
                while index < bytes.len()
                    && (bytes[index].is_ascii_alphanumeric()
                        || matches!(bytes[index], b'_' | b'.' | b'-' | b'+'))
                {
                    index += 1;
                }
            }
            _ => {
                tokens += 1;
                index += 1;
            }
        }
    }
    tokens
}

const INTROSPECTION_LISTS: &[&str] = &[
    "fields",
    "interfaces",
    "possibleTypes",
    "inputFields",
    "types",
];

struct Walk<'a> {
    document: &'a ExecutableDocument,
    aliases: usize,
    worst_repeat: (usize, String),
    circular_introspection: bool,
    visited_fragments: Vec<String>,
}

impl Walk<'_> {
    /// `introspection_lists` counts enclosing `fields`/`types`/… lists of an
    /// introspection selection: two nested ones are a cycle (`types { fields { type {
    /// fields … } } }` only serves to multiply the work).
    fn selection_set(
        &mut self,
        set: &SelectionSet,
        in_introspection: bool,
        introspection_lists: usize,
    ) {
        let mut keys: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if field.alias.is_some() {
                        self.aliases += 1;
                    }
                    let key = field.response_key().node.as_str();
                    let count = keys.entry(key).or_insert(0);
                    *count += 1;
                    if *count > self.worst_repeat.0 {
                        self.worst_repeat = (*count, key.to_owned());
                    }
                    let name = field.name.node.as_str();
                    let introspection = in_introspection || name == "__schema" || name == "__type";
                    let lists = if introspection && INTROSPECTION_LISTS.contains(&name) {
                        introspection_lists + 1
                    } else {
                        introspection_lists
                    };
                    // `types { fields }` is the normal shape; a third list level is a cycle.
                    if lists > 2 {
                        self.circular_introspection = true;
                    }
                    self.selection_set(&field.selection_set.node, introspection, lists);
                }
                Selection::InlineFragment(fragment) => {
                    self.selection_set(
                        &fragment.node.selection_set.node,
                        in_introspection,
                        introspection_lists,
                    );
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.to_string();
                    if self.visited_fragments.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) =
                        self.document.fragments.get(&spread.node.fragment_name.node)
                    {
                        self.visited_fragments.push(name.clone());
                        self.selection_set(
                            &fragment.node.selection_set.node,
                            in_introspection,
                            introspection_lists,
                        );
                        self.visited_fragments.pop();
                    }
                }
            }
        }
    }
}

/// Checks a parsed document against the limits.
pub fn check_document(
    source: &str,
    document: &ExecutableDocument,
    limits: &DocumentLimits,
) -> Result<(), String> {
    let tokens = count_tokens(source);
    if tokens > limits.max_tokens {
        return Err(format!(
            "the document has {tokens} tokens; at most {} are allowed",
            limits.max_tokens
        ));
    }
    let mut walk = Walk {
        document,
        aliases: 0,
        worst_repeat: (0, String::new()),
        circular_introspection: false,
        visited_fragments: Vec::new(),
    };
    for (_, operation) in document.operations.iter() {
        walk.selection_set(&operation.node.selection_set.node, false, 0);
    }
    if walk.aliases > limits.max_aliases {
        return Err(format!(
            "the document uses {} aliases; at most {} are allowed",
            walk.aliases, limits.max_aliases
        ));
    }
    if walk.worst_repeat.0 > limits.max_repeated_field {
        return Err(format!(
            "the field `{}` is selected {} times in one selection set; at most {} are allowed",
            walk.worst_repeat.1, walk.worst_repeat.0, limits.max_repeated_field
        ));
    }
    if walk.circular_introspection {
        return Err(
            "circular introspection (lists of types or fields nested in each other) is not allowed"
                .into(),
        );
    }
    Ok(())
}

/// The async-graphql extension applying `check_document` to every request.
pub struct DocumentLimitsExtension(pub DocumentLimits);

impl ExtensionFactory for DocumentLimitsExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimitsCheck(self.0))
    }
}

struct DocumentLimitsCheck(DocumentLimits);

#[async_trait::async_trait]
impl Extension for DocumentLimitsCheck {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // Count tokens before parsing, so a huge document costs no parse.
        let tokens = count_tokens(query);
        if tokens > self.0.max_tokens {
            return Err(limit_error(format!(
                "the document has {tokens} tokens; at most {} are allowed",
                self.0.max_tokens
            )));
        }
        let document = next.run(ctx, query, variables).await?;
        check_document(query, &document, &self.0).map_err(limit_error)?;
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(query: &str) -> Result<(), String> {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        check_document(query, &document, &DocumentLimits::default())
    }

    #[test]
    fn counts_tokens_like_a_lexer() {
        assert_eq!(count_tokens("{ a(b: \"x, y\") }"), 8);
        assert_eq!(count_tokens("query Q($v: Int = 3) { f # comment\n }"), 13);
        assert_eq!(count_tokens("{ ...F } fragment F on T { a }"), 11);
    }

    #[test]
    fn refuses_alias_floods_duplicates_and_circular_introspection() {
        let aliases: String = (0..16).map(|i| format!("a{i}: apiVersion ")).collect();
        assert!(
            check(&format!("{{ {aliases} }}"))
                .expect_err("too many aliases")
                .contains("16 aliases")
        );
        let duplicates = "apiVersion ".repeat(11);
        assert!(
            check(&format!("{{ {duplicates} }}"))
                .expect_err("duplicates")
                .contains("11 times")
        );
        let circular = "{ __schema { types { fields { type { fields { name } } } } } }";
        assert!(check(circular).expect_err("circular").contains("circular"));
        // GraphiQL's own introspection shape stays allowed.
        let graphiql = "{ __schema { types { name fields { name type { name ofType { name ofType { name } } } } inputFields { name } interfaces { name } possibleTypes { name } } } }";
        assert_eq!(check(graphiql), Ok(()));
    }
}
