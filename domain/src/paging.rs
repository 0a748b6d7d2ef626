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
    #[error("first: must be between 1 and {MAX_PAGE_SIZE}, got {0}")]
    PageSize(i64),
    #[error("after: `{0}` is not a cursor this API issued")]
    Cursor(String),
}

/// A validated request for one page, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: u64,
    pub after: Option<Cursor>,
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

impl PageRequest {
    pub fn parse(first: Option<i64>, after: Option<&str>) -> Result<Self, PageRequestError> {
        let size = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if (1..=MAX_PAGE_SIZE as i64).contains(&n) => n as u64,
            Some(n) => return Err(PageRequestError::PageSize(n)),
        };
        let after = after.map(Cursor::decode).transpose()?;
        Ok(Self { size, after })
    }
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.created_at.to_rfc3339(), self.id))
    }

    pub fn decode(text: &str) -> Result<Self, PageRequestError> {
        let bad = || PageRequestError::Cursor(text.to_owned());
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
        assert_eq!(PageRequest::parse(None, None).map(|p| p.size), Ok(20));
        assert_eq!(PageRequest::parse(Some(100), None).map(|p| p.size), Ok(100));
        assert_eq!(
            PageRequest::parse(Some(101), None),
            Err(PageRequestError::PageSize(101))
        );
        assert_eq!(
            PageRequest::parse(Some(0), None),
            Err(PageRequestError::PageSize(0))
        );
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor {
            created_at: Utc::now(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        assert!(Cursor::decode("zzz").is_err());
    }
}
