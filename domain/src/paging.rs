//! Keyset pagination shared by every list: a page size capped at 100 and an opaque
//! cursor over `(created_at, id)`, stable under concurrent inserts.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageRequestError {
    #[error("{argument}: must be between 1 and {MAX_PAGE_SIZE}, got {value}")]
    PageSize { argument: &'static str, value: i64 },
    #[error("{argument}: `{cursor}` is not a cursor this API issued")]
    Cursor {
        argument: &'static str,
        cursor: String,
    },
    #[error("first and last: give one of them, not both")]
    FirstAndLast,
}

/// A validated request for one page: `size` rows after `after` and before `before`,
/// taken from the start of that range (forward, `first`) or from its end (backward,
/// `last`). Rows are always returned in the list's own order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: u64,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
    pub backward: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

/// The rows that come after `cursor` in `(created_at, id)` order, newest first or
/// oldest first: the keyset condition every list shares.
pub fn after_cursor<C: sea_orm::ColumnTrait>(
    created_at_column: C,
    id_column: C,
    cursor: &Cursor,
    newest_first: bool,
) -> sea_orm::Condition {
    use sea_orm::Condition;
    let (earlier_or_later, beyond_id) = if newest_first {
        (
            created_at_column.lt(cursor.created_at),
            id_column.lt(cursor.id),
        )
    } else {
        (
            created_at_column.gt(cursor.created_at),
            id_column.gt(cursor.id),
        )
    };
    Condition::any().add(earlier_or_later).add(
        Condition::all()
            .add(created_at_column.eq(cursor.created_at))
            .add(beyond_id),
    )
}

/// Orders, bounds and limits `query` for `page` over a list shown newest or oldest
/// first by `(created_at, id)`. A backward page is read in reverse from its end;
/// [`finish_page`] puts it back in the list's order.
pub fn select_page<E, C>(
    query: sea_orm::Select<E>,
    created_at_column: C,
    id_column: C,
    page: &PageRequest,
    newest_first: bool,
) -> sea_orm::Select<E>
where
    E: sea_orm::EntityTrait,
    C: sea_orm::ColumnTrait,
{
    use sea_orm::{QueryFilter, QueryOrder, QuerySelect};
    let mut query = query.limit(page.size + 1);
    if let Some(cursor) = &page.after {
        query = query.filter(after_cursor(
            created_at_column,
            id_column,
            cursor,
            newest_first,
        ));
    }
    if let Some(cursor) = &page.before {
        // "Before" in the list's order is "after" in the reverse order.
        query = query.filter(after_cursor(
            created_at_column,
            id_column,
            cursor,
            !newest_first,
        ));
    }
    let read_newest_first = newest_first != page.backward;
    if read_newest_first {
        query
            .order_by_desc(created_at_column)
            .order_by_desc(id_column)
    } else {
        query
            .order_by_asc(created_at_column)
            .order_by_asc(id_column)
    }
}

/// Turns the rows [`select_page`] read (at most `size + 1`) into the page, in the list's
/// order, with whether more rows lie beyond each end.
pub fn finish_page<T>(mut rows: Vec<T>, page: &PageRequest) -> Page<T> {
    let more_in_reading_direction = rows.len() as u64 > page.size;
    rows.truncate(page.size as usize);
    if page.backward {
        rows.reverse();
        Page {
            items: rows,
            has_next_page: page.before.is_some(),
            has_previous_page: more_in_reading_direction,
        }
    } else {
        Page {
            items: rows,
            has_next_page: more_in_reading_direction,
            has_previous_page: page.after.is_some(),
        }
    }
}

impl PageRequest {
    /// The Relay arguments: `first`/`after` pages forward, `last`/`before` backward
    /// (both cursors may bound either direction); neither size means the first 20.
    pub fn parse(
        first: Option<i64>,
        after: Option<&str>,
        last: Option<i64>,
        before: Option<&str>,
    ) -> Result<Self, PageRequestError> {
        let checked = |argument: &'static str, value: i64| {
            if (1..=MAX_PAGE_SIZE as i64).contains(&value) {
                Ok(value as u64)
            } else {
                Err(PageRequestError::PageSize { argument, value })
            }
        };
        let (size, backward) = match (first, last) {
            (Some(_), Some(_)) => return Err(PageRequestError::FirstAndLast),
            (Some(first), None) => (checked("first", first)?, false),
            (None, Some(last)) => (checked("last", last)?, true),
            (None, None) => (DEFAULT_PAGE_SIZE, false),
        };
        let decode = |argument: &'static str, text: &str| {
            Cursor::decode(text).map_err(|_| PageRequestError::Cursor {
                argument,
                cursor: text.chars().take(64).collect(),
            })
        };
        Ok(Self {
            size,
            after: after.map(|text| decode("after", text)).transpose()?,
            before: before.map(|text| decode("before", text)).transpose()?,
            backward,
        })
    }

    /// The first page of a list.
    pub fn first(size: u64) -> Self {
        Self {
            size,
            after: None,
            before: None,
            backward: false,
        }
    }
}

/// A cursor that this API did not issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidCursor;

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.created_at.to_rfc3339(), self.id))
    }

    pub fn decode(text: &str) -> Result<Self, InvalidCursor> {
        let bad = || InvalidCursor;
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let raw = String::from_utf8(bytes).map_err(|_| bad())?;
        let (time, id) = raw.split_once('|').ok_or_else(bad)?;
        Ok(Self {
            created_at: DateTime::parse_from_rfc3339(time)
                .map_err(|_| bad())?
                .with_timezone(&Utc),
            id: Uuid::parse_str(id).map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_bounded() {
        let parse = |first, last| PageRequest::parse(first, None, last, None);
        assert_eq!(parse(None, None).map(|p| p.size), Ok(20));
        assert_eq!(parse(Some(100), None).map(|p| p.size), Ok(100));
        assert_eq!(
            parse(None, Some(7)).map(|p| (p.size, p.backward)),
            Ok((7, true))
        );
        assert_eq!(
            parse(Some(101), None),
            Err(PageRequestError::PageSize {
                argument: "first",
                value: 101
            })
        );
        assert_eq!(
            parse(None, Some(0)),
            Err(PageRequestError::PageSize {
                argument: "last",
                value: 0
            })
        );
        assert_eq!(parse(Some(1), Some(1)), Err(PageRequestError::FirstAndLast));
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor {
            created_at: Utc::now(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        assert!(Cursor::decode("zzz").is_err());
        let long = "x".repeat(10_000);
        let refused = PageRequest::parse(None, Some(&long), None, None).unwrap_err();
        assert!(
            refused.to_string().len() < 200,
            "a bad cursor is not echoed whole"
        );
    }

    #[test]
    fn a_backward_page_comes_back_in_list_order() {
        let page = PageRequest::parse(None, None, Some(2), None).unwrap();
        // Read in reverse: the newest-first list's last rows, oldest first, one extra.
        let finished = finish_page(vec![1, 2, 3], &page);
        assert_eq!(finished.items, vec![2, 1]);
        assert!(finished.has_previous_page);
        assert!(!finished.has_next_page);
        let forward = finish_page(vec![1, 2], &PageRequest::first(2));
        assert_eq!(forward.items, vec![1, 2]);
        assert!(!forward.has_next_page && !forward.has_previous_page);
    }
}
