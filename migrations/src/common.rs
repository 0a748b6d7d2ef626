//! Helpers shared by the migrations: PostGIS columns on PostgreSQL, bbox indexes on SQLite.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// On PostgreSQL: adds `geom geometry(<geom_type>,4326)` generated from `wkb_column`
/// (wrapped in `wrap`, e.g. `ST_Multi`, if given) and a GIST index `<table>_geom_gist`.
/// On SQLite: adds the index `<table>_bbox` on (min_x, min_y, max_x, max_y).
pub async fn add_geometry(
    manager: &SchemaManager<'_>,
    table: &str,
    wkb_column: &str,
    geom_type: &str,
    wrap: Option<&str>,
) -> Result<(), DbErr> {
    match manager.get_database_backend() {
        DbBackend::Postgres => {
            let base = format!("ST_SetSRID(ST_GeomFromWKB(\"{wkb_column}\"), 4326)");
            let expr = match wrap {
                Some(f) => format!("{f}({base})"),
                None => base,
            };
            let db = manager.get_connection();
            db.execute_unprepared(&format!(
                "ALTER TABLE \"{table}\" ADD COLUMN \"geom\" geometry({geom_type}, 4326) \
                 GENERATED ALWAYS AS ({expr}) STORED"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE INDEX \"{table}_geom_gist\" ON \"{table}\" USING GIST (\"geom\")"
            ))
            .await?;
        }
        _ => {
            manager
                .create_index(
                    Index::create()
                        .name(format!("{table}_bbox"))
                        .table(Alias::new(table))
                        .col(Alias::new("min_x"))
                        .col(Alias::new("min_y"))
                        .col(Alias::new("max_x"))
                        .col(Alias::new("max_y"))
                        .to_owned(),
                )
                .await?;
        }
    }
    Ok(())
}

/// Drops a table if it exists (its indexes and generated columns go with it).
pub async fn drop_table<T: IntoTableRef>(
    manager: &SchemaManager<'_>,
    table: T,
) -> Result<(), DbErr> {
    manager
        .drop_table(Table::drop().table(table).if_exists().to_owned())
        .await
}

/// An index on `table` named `name` over `cols`.
pub fn index<T, C, I>(name: &str, table: T, cols: I) -> IndexCreateStatement
where
    T: IntoTableRef,
    C: IntoIndexColumn,
    I: IntoIterator<Item = C>,
{
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(c);
    }
    stmt
}
