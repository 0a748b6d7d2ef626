//! Re-exports of every entity under its table's singular name.

pub use super::api_keys::{
    ActiveModel as ApiKeyActiveModel, Column as ApiKeyColumn, Entity as ApiKey,
    Model as ApiKeyModel,
};
pub use super::buildings::{
    ActiveModel as BuildingActiveModel, Column as BuildingColumn, Entity as Building,
    Model as BuildingModel,
};
pub use super::exclusion_zones::{
    ActiveModel as ExclusionZoneActiveModel, Column as ExclusionZoneColumn,
    Entity as ExclusionZone, Model as ExclusionZoneModel,
};
pub use super::files::{
    ActiveModel as FileActiveModel, Column as FileColumn, Entity as File, Model as FileModel,
};
pub use super::jobs::{
    ActiveModel as JobActiveModel, Column as JobColumn, Entity as Job, Model as JobModel,
};
pub use super::layouts::{
    ActiveModel as LayoutActiveModel, Column as LayoutColumn, Entity as Layout,
    Model as LayoutModel,
};
pub use super::organizations::{
    ActiveModel as OrganizationActiveModel, Column as OrganizationColumn, Entity as Organization,
    Model as OrganizationModel,
};
pub use super::projects::{
    ActiveModel as ProjectActiveModel, Column as ProjectColumn, Entity as Project,
    Model as ProjectModel,
};
pub use super::sites::{
    ActiveModel as SiteActiveModel, Column as SiteColumn, Entity as Site, Model as SiteModel,
};
pub use super::users::{
    ActiveModel as UserActiveModel, Column as UserColumn, Entity as User, Model as UserModel,
};
