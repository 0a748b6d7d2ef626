//! Limits on the shape of a GraphQL document, checked before anything else looks at it
//! (before authentication, before async-graphql's own checks, which expand every
//! fragment spread again and would take exponential time on fan-out documents), for
//! every transport (HTTP and websocket): tokens, expanded selections (the cost),
//! aliases, repeated fields and circular introspection.
//!
//! Every count is of the document as it would execute, with fragment spreads and
//! inline fragments expanded, but computed in one pass: each named fragment is
//! summarised once and its summary reused at every spread, so the time is linear in
//! the document (times the handful of introspection states a fragment can be met in).
//! Depth and complexity use async-graphql's own limits (see `build_schema`), which are
//! safe to run once the expanded size is bounded here. Each refusal is a request error
//! with code `LIMIT_EXCEEDED` that says which limit and by how much.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Pos, Request, ServerError, ServerResult};

/// The limits, with graphql-armor's defaults where it has one.
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    pub max_tokens: usize,
    pub max_aliases: u64,
    /// How often one response key may repeat in one selection set, counting the
    /// fields that fragments and inline fragments bring into it.
    pub max_repeated_field: u64,
    /// Fields of the document once every fragment is expanded: the work validation
    /// and execution would do.
    pub max_expanded_selections: u64,
}

impl Default for DocumentLimits {
    fn default() -> Self {
        Self {
            max_tokens: 1_000,
            max_aliases: 15,
            max_repeated_field: 10,
            max_expanded_selections: 2_000,
        }
    }
}

/// A request error with code LIMIT_EXCEEDED.
pub fn limit_error(message: String) -> ServerError {
    let mut error = ServerError::new(message, Some(Pos { line: 1, column: 1 }));
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", "LIMIT_EXCEEDED");
    error.extensions = Some(extensions);
    error
}

/// Counts lexical tokens the way the GraphQL lexer does, without allocating: names,
/// numbers, strings (block strings too) and punctuators; commas, whitespace and
/// comments do not count. A comment ends at `\r`, `\n` or `\r\n`, as in the parser's
/// grammar: ending it only at `\n` would hide every token after a lone `\r`.
/// Wherever the two could disagree, this counts more, never fewer.
pub fn count_tokens(source: &str) -> usize {
    let bytes = source.as_bytes();
    let mut index = 0;
    let mut tokens = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => index += 1,
            b'#' => {
                while index < bytes.len() && bytes[index] != b'\n' && bytes[index] != b'\r' {
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
                    while index < bytes.len()
                        && bytes[index] != b'"'
                        && bytes[index] != b'\n'
                        && bytes[index] != b'\r'
                    {
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

/// What a selection set (or a named fragment) amounts to once expanded. Counts
/// saturate instead of overflowing: a fan-out of 3 over 40 levels is simply "too many".
#[derive(Debug, Default, Clone)]
struct Expanded<'a> {
    selections: u64,
    aliases: u64,
    /// Response keys of this set itself, with the fields of its fragments merged in.
    keys: HashMap<&'a str, u64>,
    /// The most any response key repeats in this set or any set below it.
    worst_repeat: (u64, &'a str),
}

impl<'a> Expanded<'a> {
    fn absorb_nested(&mut self, nested: &Expanded<'a>) {
        self.selections = self.selections.saturating_add(nested.selections);
        self.aliases = self.aliases.saturating_add(nested.aliases);
        if nested.worst_repeat.0 > self.worst_repeat.0 {
            self.worst_repeat = nested.worst_repeat;
        }
    }

    /// A fragment's fields join this set: same level, so their keys merge.
    fn absorb_fragment(&mut self, fragment: &Expanded<'a>) {
        self.absorb_nested(fragment);
        for (key, count) in &fragment.keys {
            let merged = self.keys.entry(key).or_insert(0);
            *merged = merged.saturating_add(*count);
        }
    }
}

#[derive(Clone)]
enum Memo<'a> {
    InProgress,
    Done(Arc<Expanded<'a>>),
}

struct Analysis<'a> {
    document: &'a ExecutableDocument,
    fragments: HashMap<&'a str, Memo<'a>>,
    /// `(fragment, in introspection, enclosing introspection lists)` → circular.
    introspection: HashMap<(&'a str, bool, usize), bool>,
}

impl<'a> Analysis<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> Result<Expanded<'a>, String> {
        let mut expanded = Expanded::default();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let nested = self.selection_set(&field.selection_set.node)?;
                    expanded.absorb_nested(&nested);
                    expanded.selections = expanded.selections.saturating_add(1);
                    if field.alias.is_some() {
                        expanded.aliases = expanded.aliases.saturating_add(1);
                    }
                    let key = field.response_key().node.as_str();
                    let count = expanded.keys.entry(key).or_insert(0);
                    *count = count.saturating_add(1);
                }
                Selection::InlineFragment(fragment) => {
                    let nested = self.selection_set(&fragment.node.selection_set.node)?;
                    expanded.absorb_fragment(&nested);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if let Some(fragment) = self.fragment(name)? {
                        expanded.absorb_fragment(&fragment);
                    }
                }
            }
        }
        for (key, count) in &expanded.keys {
            if *count > expanded.worst_repeat.0 {
                expanded.worst_repeat = (*count, key);
            }
        }
        Ok(expanded)
    }

    /// The expansion of a named fragment, computed on its first spread only. An
    /// unknown fragment counts as nothing (validation reports it); a cycle is refused
    /// here, since expanding it would never end.
    fn fragment(&mut self, name: &'a str) -> Result<Option<Arc<Expanded<'a>>>, String> {
        match self.fragments.get(name) {
            Some(Memo::Done(expanded)) => return Ok(Some(expanded.clone())),
            Some(Memo::InProgress) => {
                return Err(format!("the fragment `{name}` spreads itself"));
            }
            None => {}
        }
        let document = self.document;
        let Some((defined_name, fragment)) = document.fragments.get_key_value(name) else {
            return Ok(None);
        };
        let name = defined_name.as_str();
        self.fragments.insert(name, Memo::InProgress);
        let expanded = Arc::new(self.selection_set(&fragment.node.selection_set.node)?);
        self.fragments.insert(name, Memo::Done(expanded.clone()));
        Ok(Some(expanded))
    }

    /// Whether a selection set nests introspection lists in each other
    /// (`types { fields { type { fields … } } }` only serves to multiply the work).
    /// `lists` counts the enclosing `fields`/`types`/… lists; fragments are memoised
    /// per state, and cycles were refused by the expansion before this runs.
    fn circular_introspection(
        &mut self,
        set: &'a SelectionSet,
        in_introspection: bool,
        lists: usize,
    ) -> bool {
        for selection in &set.items {
            let circular = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    let introspection = in_introspection || name == "__schema" || name == "__type";
                    let lists = if introspection && INTROSPECTION_LISTS.contains(&name) {
                        lists + 1
                    } else {
                        lists
                    };
                    // `types { fields }` is the normal shape; a third list level is a cycle.
                    lists > 2
                        || self.circular_introspection(
                            &field.selection_set.node,
                            introspection,
                            lists,
                        )
                }
                Selection::InlineFragment(fragment) => self.circular_introspection(
                    &fragment.node.selection_set.node,
                    in_introspection,
                    lists,
                ),
                Selection::FragmentSpread(spread) => {
                    let document = self.document;
                    let name = spread.node.fragment_name.node.as_str();
                    match document.fragments.get_key_value(name) {
                        None => false,
                        Some((defined_name, fragment)) => {
                            let key = (defined_name.as_str(), in_introspection, lists);
                            match self.introspection.get(&key) {
                                Some(known) => *known,
                                None => {
                                    // Provisional answer while this state is being
                                    // worked out; there are no cycles left to meet it.
                                    self.introspection.insert(key, false);
                                    let circular = self.circular_introspection(
                                        &fragment.node.selection_set.node,
                                        in_introspection,
                                        lists,
                                    );
                                    self.introspection.insert(key, circular);
                                    circular
                                }
                            }
                        }
                    }
                }
            };
            if circular {
                return true;
            }
        }
        false
    }
}

/// Checks a parsed document against the limits (tokens are counted before parsing,
/// by `check_request`).
pub fn check_document(
    document: &ExecutableDocument,
    limits: &DocumentLimits,
) -> Result<(), String> {
    let mut analysis = Analysis {
        document,
        fragments: HashMap::new(),
        introspection: HashMap::new(),
    };
    let mut whole = Expanded::default();
    for (_, operation) in document.operations.iter() {
        let expanded = analysis.selection_set(&operation.node.selection_set.node)?;
        whole.absorb_nested(&expanded);
    }
    // Fragments no operation spreads are still checked: validation walks them too.
    for name in document.fragments.keys() {
        analysis.fragment(name.as_str())?;
    }
    if whole.selections > limits.max_expanded_selections {
        return Err(format!(
            "the document selects {} fields once its fragments are expanded; at most {} are allowed",
            display_count(whole.selections),
            limits.max_expanded_selections
        ));
    }
    if whole.aliases > limits.max_aliases {
        return Err(format!(
            "the document uses {} aliases once its fragments are expanded; at most {} are allowed",
            display_count(whole.aliases),
            limits.max_aliases
        ));
    }
    if whole.worst_repeat.0 > limits.max_repeated_field {
        return Err(format!(
            "the field `{}` is selected {} times in one selection set (fragments included); at most {} are allowed",
            whole.worst_repeat.1,
            display_count(whole.worst_repeat.0),
            limits.max_repeated_field
        ));
    }
    let circular = document.operations.iter().any(|(_, operation)| {
        analysis.circular_introspection(&operation.node.selection_set.node, false, 0)
    });
    if circular {
        return Err(
            "circular introspection (lists of types or fields nested in each other) is not allowed"
                .into(),
        );
    }
    Ok(())
}

fn display_count(count: u64) -> String {
    if count == u64::MAX {
        "more than 10^19".to_owned()
    } else {
        count.to_string()
    }
}

/// Gives an error the code clients switch on, unless it has one.
pub fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

/// Marks a request whose document was already checked (by the HTTP transport, before
/// authentication), so the extension does not check it twice.
#[derive(Debug, Clone, Copy)]
pub struct DocumentChecked;

/// Counts the tokens, parses the document once (the parse is kept in the request, so
/// nothing parses it again) and checks it. The error is a request error: a parse
/// error as the parser reports it, or LIMIT_EXCEEDED.
pub fn check_request(request: &mut Request, limits: &DocumentLimits) -> ServerResult<()> {
    // Count tokens before parsing, so a huge document costs no parse.
    let tokens = count_tokens(&request.query);
    if tokens > limits.max_tokens {
        return Err(limit_error(format!(
            "the document has {tokens} tokens; at most {} are allowed",
            limits.max_tokens
        )));
    }
    let document = request
        .parsed_query()
        .map_err(|error| with_code(error, "GRAPHQL_PARSE_FAILED"))?;
    check_document(document, limits).map_err(limit_error)?;
    // A subscription's document lives as long as the subscription. The parser's lists
    // grow by doubling (a selection of one field keeps room for four); a copy holds
    // each at its length, about 1 KiB less per idle subscription (BENCHMARKS.md).
    if has_subscription(document) {
        let compact = document.clone();
        request.set_parsed_query(compact);
    }
    request.data.insert(DocumentChecked);
    Ok(())
}

/// Whether any operation of the document is a subscription.
fn has_subscription(document: &ExecutableDocument) -> bool {
    document
        .operations
        .iter()
        .any(|(_, operation)| operation.node.ty == OperationType::Subscription)
}

/// The async-graphql extension applying `check_request` to every request, whatever
/// the transport, before async-graphql parses or validates anything.
pub struct DocumentLimitsExtension(pub DocumentLimits);

impl ExtensionFactory for DocumentLimitsExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimitsCheck(self.0))
    }
}

struct DocumentLimitsCheck(DocumentLimits);

#[async_trait::async_trait]
impl Extension for DocumentLimitsCheck {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if !request
            .data
            .contains_key(&std::any::TypeId::of::<DocumentChecked>())
        {
            check_request(&mut request, &self.0)?;
        }
        next.run(ctx, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(query: &str) -> Result<(), String> {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        check_document(&document, &DocumentLimits::default())
    }

    #[test]
    fn a_subscription_keeps_a_compact_copy_of_its_document() {
        let query = "subscription($id: ID!) { jobProgress(jobId: $id) { jobId status } }";
        let mut request = Request::new(query);
        check_request(&mut request, &DocumentLimits::default()).expect("allowed");
        let document = request.parsed_query().expect("parsed");
        let (_, operation) = document.operations.iter().next().expect("one operation");
        let root = &operation.node.selection_set.node.items;
        assert_eq!((root.len(), root.capacity()), (1, 1));
        assert_eq!(
            (
                operation.node.variable_definitions.len(),
                operation.node.variable_definitions.capacity()
            ),
            (1, 1)
        );
        // A query is left as parsed (it lives only for its request).
        let mut request = Request::new("{ apiVersion }");
        check_request(&mut request, &DocumentLimits::default()).expect("allowed");
        let document = request.parsed_query().expect("parsed");
        let (_, operation) = document.operations.iter().next().expect("one operation");
        assert!(operation.node.selection_set.node.items.capacity() > 1);
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

    #[test]
    fn comments_end_where_the_parser_ends_them() {
        assert_eq!(count_tokens("{ a #\r b c \n }"), 5);
        assert_eq!(count_tokens("{ a #\r\n b }"), 4);
        assert_eq!(count_tokens("{ a # b c\n }"), 3);
    }

    #[test]
    fn fan_out_fragments_are_refused_in_linear_time() {
        let mut document = String::from("{ ...F0 }\n");
        for level in 0..40 {
            let next = level + 1;
            document.push_str(&format!(
                "fragment F{level} on QueryRoot {{ ...F{next} ...F{next} ...F{next} }}\n"
            ));
        }
        document.push_str("fragment F40 on QueryRoot { apiVersion }\n");
        let started = std::time::Instant::now();
        let refused = check(&document).expect_err("fan-out");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(
            refused.contains("fields once its fragments are expanded"),
            "{refused}"
        );
    }

    #[test]
    fn repeats_and_aliases_count_across_fragments() {
        let inline = "... on QueryRoot { apiVersion } ".repeat(11);
        assert!(
            check(&format!("{{ {inline} }}"))
                .expect_err("inline fragments")
                .contains("11 times")
        );
        let spreads = "...F ".repeat(11);
        assert!(
            check(&format!(
                "{{ {spreads} }} fragment F on QueryRoot {{ apiVersion }}"
            ))
            .expect_err("spreads")
            .contains("11 times")
        );
        let aliases: String = (0..4).map(|i| format!("a{i}: apiVersion ")).collect();
        assert!(
            check(&format!("{{ ...F ...G }} fragment F on QueryRoot {{ ...G ...G ...G }} fragment G on QueryRoot {{ {aliases} }}"))
                .expect_err("aliases")
                .contains("16 aliases")
        );
        assert!(
            check("{ ...F } fragment F on QueryRoot { ...G } fragment G on QueryRoot { ...F }")
                .expect_err("cycle")
                .contains("spreads itself")
        );
        let circular = "{ __schema { ...T } } fragment T on __Schema { types { fields { type { fields { name } } } } }";
        assert!(check(circular).expect_err("circular").contains("circular"));
    }
}
