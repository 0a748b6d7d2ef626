//! The one place where domain errors become GraphQL errors with `extensions.code`.
//! Internal failures are logged here and reach the client only as a generic message.

use async_graphql::{Error, ErrorExtensions};

use entmoot_domain::ids::GlobalIdError;
use entmoot_domain::paging::PageRequestError;
use entmoot_domain::projects::{CreateProjectError, ProjectInputError, ReadProjectError};

/// The codes a client can rely on, as in the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    LimitExceeded,
    InternalServerError,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::LimitExceeded => "LIMIT_EXCEEDED",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }
}

pub fn coded_error(code: ErrorCode, message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, extensions| extensions.set("code", code.as_str()))
}

/// The extension a rate-limited field error carries, which the HTTP transport turns
/// into status 429 with a Retry-After header.
pub const RETRY_AFTER_EXTENSION: &str = "retryAfterSeconds";

/// LIMIT_EXCEEDED with the seconds to wait.
pub fn rate_limited(message: String, retry_after_seconds: u64) -> Error {
    Error::new(message).extend_with(|_, extensions| {
        extensions.set("code", ErrorCode::LimitExceeded.as_str());
        extensions.set(RETRY_AFTER_EXTENSION, retry_after_seconds);
    })
}

fn internal_error(error: &dyn std::error::Error) -> Error {
    tracing::error!(error = %error, source = ?error.source(), "internal error in a GraphQL resolver");
    coded_error(ErrorCode::InternalServerError, "internal server error")
}

/// Converts a domain error into the GraphQL error a client sees.
///
/// async-graphql converts any `Display` type into an error with `?`; resolvers use
/// this trait instead so that every error gets a code and internals never leak.
pub trait IntoGraphqlError {
    fn into_graphql_error(self) -> Error;
}

impl IntoGraphqlError for ProjectInputError {
    fn into_graphql_error(self) -> Error {
        coded_error(ErrorCode::BadUserInput, format!("input.{self}"))
    }
}

impl IntoGraphqlError for CreateProjectError {
    fn into_graphql_error(self) -> Error {
        match self {
            Self::Forbidden => coded_error(ErrorCode::Forbidden, self.to_string()),
            Self::Database(ref error) => internal_error(error),
        }
    }
}

impl IntoGraphqlError for entmoot_domain::projects::ChangeProjectError {
    fn into_graphql_error(self) -> Error {
        use entmoot_domain::projects::ChangeProjectError;
        match self {
            ChangeProjectError::Forbidden => coded_error(ErrorCode::Forbidden, self.to_string()),
            ChangeProjectError::NotFound => coded_error(ErrorCode::NotFound, self.to_string()),
            ChangeProjectError::ActiveJobs(_) => coded_error(ErrorCode::Conflict, self.to_string()),
            ChangeProjectError::Storage { .. } => internal_error(&self),
            ChangeProjectError::Database(ref error) => internal_error(error),
        }
    }
}

impl IntoGraphqlError for entmoot_domain::sites::BuildableAreaError {
    fn into_graphql_error(self) -> Error {
        use entmoot_domain::sites::BuildableAreaError;
        match self {
            BuildableAreaError::Setback(_) | BuildableAreaError::Prepare(_) => {
                coded_error(ErrorCode::BadUserInput, self.to_string())
            }
            BuildableAreaError::Site(error) => error.into_graphql_error(),
            BuildableAreaError::HeavyWork(
                entmoot_domain::heavy_work::HeavyWorkError::OverBudget,
            ) => coded_error(ErrorCode::LimitExceeded, self.to_string()),
            BuildableAreaError::HeavyWork(_) => internal_error(&self),
        }
    }
}

impl IntoGraphqlError for ReadProjectError {
    fn into_graphql_error(self) -> Error {
        match self {
            Self::NotFound => coded_error(ErrorCode::NotFound, self.to_string()),
            Self::Database(ref error) => internal_error(error),
        }
    }
}

impl IntoGraphqlError for GlobalIdError {
    fn into_graphql_error(self) -> Error {
        coded_error(ErrorCode::BadUserInput, self.to_string())
    }
}

impl IntoGraphqlError for PageRequestError {
    fn into_graphql_error(self) -> Error {
        coded_error(ErrorCode::BadUserInput, self.to_string())
    }
}

/// A database failure inside a resolver: logged, reported without details.
pub fn database_error(error: sea_orm::DbErr) -> Error {
    internal_error(&error)
}

impl IntoGraphqlError for entmoot_domain::sites::SiteInputError {
    fn into_graphql_error(self) -> Error {
        coded_error(ErrorCode::BadUserInput, format!("input.{self}"))
    }
}

impl IntoGraphqlError for entmoot_domain::sites::SiteError {
    fn into_graphql_error(self) -> Error {
        use entmoot_domain::sites::SiteError;
        match self {
            SiteError::Forbidden => coded_error(ErrorCode::Forbidden, self.to_string()),
            SiteError::ProjectNotFound | SiteError::NotFound => {
                coded_error(ErrorCode::NotFound, self.to_string())
            }
            SiteError::Storage(ref error) => internal_error(error),
            SiteError::Database(ref error) => internal_error(error),
        }
    }
}

impl IntoGraphqlError for entmoot_domain::sites::UpdateSiteError {
    fn into_graphql_error(self) -> Error {
        use entmoot_domain::sites::UpdateSiteError;
        match self {
            UpdateSiteError::Forbidden => coded_error(ErrorCode::Forbidden, self.to_string()),
            UpdateSiteError::NotFound => coded_error(ErrorCode::NotFound, self.to_string()),
            UpdateSiteError::Input(error) => error.into_graphql_error(),
            UpdateSiteError::Storage(ref error) => internal_error(error),
            UpdateSiteError::Database(ref error) => internal_error(error),
        }
    }
}

impl IntoGraphqlError for entmoot_domain::terrain::SlopeClassesError {
    fn into_graphql_error(self) -> Error {
        use entmoot_domain::terrain::SlopeClassesError;
        match self {
            SlopeClassesError::Breaks(_) | SlopeClassesError::Prepare(_) => {
                coded_error(ErrorCode::BadUserInput, self.to_string())
            }
            SlopeClassesError::Site(error) => error.into_graphql_error(),
            SlopeClassesError::Terrain(error) => error.into_graphql_error(),
            SlopeClassesError::HeavyWork(
                entmoot_domain::heavy_work::HeavyWorkError::OverBudget,
            ) => coded_error(ErrorCode::LimitExceeded, self.to_string()),
            SlopeClassesError::HeavyWork(_) => internal_error(&self),
        }
    }
}

/// A file without a coordinate system is not wrong, it is incomplete: `extensions.field`
/// = `crs` lets a client ask for the CRS and send the file again.
pub fn asks_for_crs(error: Error) -> Error {
    error.extend_with(|_, extensions| extensions.set("field", "crs"))
}

impl IntoGraphqlError for entmoot_formats::ImportError {
    fn into_graphql_error(self) -> Error {
        let wants_crs = matches!(self, entmoot_formats::ImportError::UnknownCrs { .. });
        let error = coded_error(ErrorCode::BadUserInput, self.to_string());
        if wants_crs {
            asks_for_crs(error)
        } else {
            error
        }
    }
}

impl IntoGraphqlError for entmoot_domain::jobs::JobInputError {
    fn into_graphql_error(self) -> Error {
        coded_error(ErrorCode::BadUserInput, format!("input.{self}"))
    }
}

impl IntoGraphqlError for entmoot_domain::jobs::SubmitJobError {
    fn into_graphql_error(self) -> Error {
        use entmoot_domain::jobs::SubmitJobError;
        match self {
            SubmitJobError::Forbidden | SubmitJobError::Disabled => {
                coded_error(ErrorCode::Forbidden, self.to_string())
            }
            SubmitJobError::SiteNotFound => coded_error(ErrorCode::NotFound, self.to_string()),
            SubmitJobError::NotifyEmailNotMember(_) => {
                coded_error(ErrorCode::BadUserInput, self.to_string())
            }
            SubmitJobError::Input(error) => error.into_graphql_error(),
            SubmitJobError::SeedLayout(entmoot_domain::layout_edits::StoredLayoutError::Site(
                error,
            )) => error.into_graphql_error(),
            SubmitJobError::SeedLayout(
                entmoot_domain::layout_edits::StoredLayoutError::HeavyWork(
                    entmoot_domain::heavy_work::HeavyWorkError::OverBudget,
                ),
            ) => coded_error(ErrorCode::LimitExceeded, self.to_string()),
            SubmitJobError::SeedLayout(ref error) => internal_error(error),
            SubmitJobError::Strategy(_) => {
                coded_error(ErrorCode::BadUserInput, format!("input.strategy: {self}"))
            }
            SubmitJobError::Queue(ref error) => internal_error(error),
            SubmitJobError::Database(ref error) => internal_error(error),
            SubmitJobError::Site(ref error) => internal_error(error),
        }
    }
}

impl IntoGraphqlError for entmoot_domain::jobs::ReadJobError {
    fn into_graphql_error(self) -> Error {
        use entmoot_domain::jobs::ReadJobError;
        match self {
            ReadJobError::NotFound => coded_error(ErrorCode::NotFound, self.to_string()),
            ReadJobError::Database(ref error) => internal_error(error),
        }
    }
}

impl IntoGraphqlError for entmoot_domain::jobs::ChangeJobError {
    fn into_graphql_error(self) -> Error {
        use entmoot_domain::jobs::ChangeJobError;
        match self {
            ChangeJobError::Forbidden | ChangeJobError::Disabled => {
                coded_error(ErrorCode::Forbidden, self.to_string())
            }
            ChangeJobError::NotFound => coded_error(ErrorCode::NotFound, self.to_string()),
            ChangeJobError::Conflict { .. } => coded_error(ErrorCode::Conflict, self.to_string()),
            ChangeJobError::Queue(ref error) => internal_error(error),
            ChangeJobError::Database(ref error) => internal_error(error),
        }
    }
}

impl IntoGraphqlError for entmoot_domain::files::FileError {
    fn into_graphql_error(self) -> Error {
        use entmoot_domain::files::FileError;
        match self {
            FileError::Forbidden => coded_error(ErrorCode::Forbidden, self.to_string()),
            FileError::ProjectNotFound | FileError::NotFound | FileError::LayoutNotFound => {
                coded_error(ErrorCode::NotFound, self.to_string())
            }
            FileError::TooLarge { .. } | FileError::TooManyVertices { .. } => {
                coded_error(ErrorCode::LimitExceeded, self.to_string())
            }
            FileError::HeavyWork(entmoot_domain::heavy_work::HeavyWorkError::OverBudget) => {
                coded_error(ErrorCode::LimitExceeded, self.to_string())
            }
            FileError::HeavyWork(_) => internal_error(&self),
            FileError::Import {
                source: entmoot_formats::ImportError::UnknownCrs { .. },
                ..
            } => asks_for_crs(coded_error(ErrorCode::BadUserInput, self.to_string())),
            FileError::Empty
            | FileError::UnrecognisedContent { .. }
            | FileError::Import { .. }
            | FileError::Upload { .. }
            | FileError::NotAParcel { .. }
            | FileError::SiteInput(_) => coded_error(ErrorCode::BadUserInput, self.to_string()),
            FileError::Site(error) => error.into_graphql_error(),
            FileError::Layout(_) | FileError::Export(_) => internal_error(&self),
            FileError::Storage { ref source, .. } => internal_error(source),
            FileError::Database(ref error) => internal_error(error),
        }
    }
}

impl IntoGraphqlError for entmoot_domain::strategies::ReloadStrategiesError {
    fn into_graphql_error(self) -> Error {
        use entmoot_domain::strategies::ReloadStrategiesError;
        match self {
            ReloadStrategiesError::Forbidden => coded_error(ErrorCode::Forbidden, self.to_string()),
            ReloadStrategiesError::Task(ref error) => internal_error(error),
        }
    }
}

impl IntoGraphqlError for entmoot_domain::accounts::AccountError {
    fn into_graphql_error(self) -> Error {
        use entmoot_domain::accounts::AccountError;
        match self {
            AccountError::WrongCredentials | AccountError::ExistingAccount => {
                coded_error(ErrorCode::Unauthenticated, self.to_string())
            }
            AccountError::MemberElsewhere => coded_error(ErrorCode::Forbidden, self.to_string()),
            AccountError::TooManyAttempts {
                retry_after_seconds,
            } => rate_limited(self.to_string(), retry_after_seconds),
            AccountError::WeakPassword(_)
            | AccountError::InvalidEmail(_)
            | AccountError::InvalidDisplayName
            | AccountError::NewAccountDetailsMissing
            | AccountError::InvalidToken => coded_error(ErrorCode::BadUserInput, self.to_string()),
            AccountError::NotAMember(_)
            | AccountError::NoOrganization
            | AccountError::Forbidden
            | AccountError::NotAPerson => coded_error(ErrorCode::Forbidden, self.to_string()),
            AccountError::Mail(_) | AccountError::Hashing => internal_error(&self),
            AccountError::Sessions(ref error) => internal_error(error),
            AccountError::Database(ref error) => internal_error(error),
        }
    }
}

impl IntoGraphqlError for entmoot_domain::terrain::SiteTerrainError {
    fn into_graphql_error(self) -> Error {
        use entmoot_domain::terrain::SiteTerrainError;
        match self {
            SiteTerrainError::Forbidden => coded_error(ErrorCode::Forbidden, self.to_string()),
            SiteTerrainError::SiteNotFound | SiteTerrainError::FileNotFound => {
                coded_error(ErrorCode::NotFound, self.to_string())
            }
            SiteTerrainError::NotTerrain(_) | SiteTerrainError::OtherProject => {
                coded_error(ErrorCode::BadUserInput, self.to_string())
            }
            SiteTerrainError::Database(ref error) => internal_error(error),
            SiteTerrainError::Storage(_) | SiteTerrainError::Unreadable(_) => internal_error(&self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_admin_reload_is_forbidden() {
        let error =
            entmoot_domain::strategies::ReloadStrategiesError::Forbidden.into_graphql_error();
        let code = error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .cloned();
        assert_eq!(code, Some(async_graphql::Value::from("FORBIDDEN")));
        assert!(
            error
                .message
                .starts_with("reloading strategies is for the operator")
        );
    }
}
