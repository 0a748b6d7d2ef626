//! Migration round trips (up → status → down → up) and entity smoke tests on SQLite and
//! PostgreSQL + PostGIS. The PostgreSQL test fails when the server is unreachable; set
//! `ENTMOOT_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use entmoot_entities::{buildings, exclusion_zones, jobs, layouts, organizations, projects, sites};
use entmoot_migrations::{
    Migrator, create_fresh_postgres_database, database_name_from_url, drop_database,
};
use sea_orm_migration::MigratorTrait;
use sea_orm_migration::sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, ModelTrait, QueryResult, Statement, Value,
};
use serde_json::json;
use uuid::Uuid;

const APP_TABLES: [&str; 13] = [
    "organizations",
    "users",
    "memberships",
    "account_tokens",
    "api_keys",
    "audit_log",
    "projects",
    "files",
    "sites",
    "exclusion_zones",
    "jobs",
    "layouts",
    "buildings",
];

fn wkb_polygon(ring: &[(f64, f64)]) -> Vec<u8> {
    let mut b = vec![1u8]; // little endian
    b.extend(3u32.to_le_bytes()); // Polygon
    b.extend(1u32.to_le_bytes()); // one ring
    b.extend(u32::try_from(ring.len()).unwrap().to_le_bytes());
    for (x, y) in ring {
        b.extend(x.to_le_bytes());
        b.extend(y.to_le_bytes());
    }
    b
}

fn wkb_multipolygon(polygons: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![1u8];
    b.extend(6u32.to_le_bytes()); // MultiPolygon
    b.extend(u32::try_from(polygons.len()).unwrap().to_le_bytes());
    for p in polygons {
        b.extend(p);
    }
    b
}

fn wkb_point(x: f64, y: f64) -> Vec<u8> {
    let mut b = vec![1u8];
    b.extend(1u32.to_le_bytes());
    b.extend(x.to_le_bytes());
    b.extend(y.to_le_bytes());
    b
}

/// A ~11 m × 11 m square near (lon, lat).
fn square(lon: f64, lat: f64, d: f64) -> Vec<(f64, f64)> {
    vec![
        (lon, lat),
        (lon + d, lat),
        (lon + d, lat + d),
        (lon, lat + d),
        (lon, lat),
    ]
}

async fn query_one(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> QueryResult {
    let backend = db.get_database_backend();
    db.query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"))
}

async fn existing_app_tables(db: &DatabaseConnection) -> Vec<String> {
    let sql = match db.get_database_backend() {
        DbBackend::Sqlite => "SELECT name AS t FROM sqlite_master WHERE type = 'table'",
        _ => {
            "SELECT table_name::text AS t FROM information_schema.tables \
              WHERE table_schema = current_schema()"
        }
    };
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    let mut names: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "t").unwrap())
        .filter(|t| APP_TABLES.contains(&t.as_str()))
        .collect();
    names.sort();
    names
}

async fn assert_all_applied(db: &DatabaseConnection) {
    Migrator::status(db).await.unwrap();
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );
    let applied = Migrator::get_applied_migrations(db).await.unwrap();
    let names: Vec<&str> = applied.iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        [
            "m0001_organizations_users_keys",
            "m0002_projects_files_sites",
            "m0003_jobs_layouts_buildings",
            "m0004_job_history",
            "m0005_audit_log",
            "m0006_memberships_account_tokens",
            "m0007_job_retry_at",
            "m0008_job_notify_email",
            "m0009_layout_edits",
            "m0010_job_event_sequence"
        ]
    );
    assert_eq!(existing_app_tables(db).await.len(), APP_TABLES.len());
}

/// up → status → down → up.
async fn round_trip(db: &DatabaseConnection) {
    Migrator::up(db, None).await.unwrap();
    assert_all_applied(db).await;

    Migrator::down(db, None).await.unwrap();
    assert!(
        Migrator::get_applied_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        Migrator::get_pending_migrations(db).await.unwrap().len(),
        Migrator::migrations().len()
    );
    assert_eq!(existing_app_tables(db).await, Vec::<String>::new());

    Migrator::up(db, None).await.unwrap();
    assert_all_applied(db).await;
}

struct Inserted {
    org: organizations::Model,
    site: sites::Model,
    building: buildings::Model,
}

/// Inserts organization → project → site → exclusion zone → job → layout → building through
/// the entities and reads them back.
async fn insert_chain(db: &DatabaseConnection) -> Inserted {
    let now = Utc::now();
    let org = organizations::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set("Acme Land".into()),
        slug: Set(format!("acme-{}", Uuid::new_v4().simple())),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();

    let project = projects::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        name: Set("Rural demo".into()),
        description: Set(Some("47 acres of rangeland".into())),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();

    // A plain Polygon: PostgreSQL's MultiPolygon column takes it through ST_Multi.
    let boundary = wkb_polygon(&square(-104.8, 39.5, 0.01));
    let site = sites::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        project_id: Set(project.id),
        name: Set("North parcel".into()),
        boundary_wkb: Set(boundary.clone()),
        min_x: Set(-104.8),
        min_y: Set(39.5),
        max_x: Set(-104.79),
        max_y: Set(39.51),
        area_m2: Set(950_000.5),
        setback_m: Set(6.1),
        constraints: Set(json!({"max_coverage": 0.4, "min_spacing": 3.0})),
        entrances: Set(json!([[-104.8, 39.505]])),
        terrain_file_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();

    let zone_wkb = wkb_multipolygon(&[
        wkb_polygon(&square(-104.799, 39.501, 0.001)),
        wkb_polygon(&square(-104.795, 39.505, 0.001)),
    ]);
    exclusion_zones::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        site_id: Set(site.id),
        name: Set(Some("Creek".into())),
        kind: Set("wetland".into()),
        buffer_m: Set(15.0),
        wkb: Set(zone_wkb),
        min_x: Set(-104.799),
        min_y: Set(39.501),
        max_x: Set(-104.794),
        max_y: Set(39.506),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();

    let job = jobs::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        project_id: Set(project.id),
        site_id: Set(site.id),
        strategy: Set("greedy".into()),
        strategy_version: Set(Some("0.1.0".into())),
        program: Set(json!({"units": "m", "assets": []})),
        parameters: Set(json!({})),
        objective_weights: Set(json!({"cost": 1.0})),
        alternatives: Set(2),
        seed: Set(Some(i64::MAX)),
        time_limit_s: Set(Some(30)),
        status: Set(jobs::JobStatus::Succeeded),
        stage: Set(None),
        progress: Set(1.0),
        best_objective: Set(Some(0.25)),
        attempts: Set(1),
        max_attempts: Set(3),
        worker_id: Set(Some("worker-1".into())),
        lease_expires_at: Set(None),
        heartbeat_at: Set(Some(now)),
        retry_at: Set(None),
        notify_email: Set(None),
        seed_layout_id: Set(None),
        pinned_assets: Set(None),
        error: Set(None),
        cancel_requested: Set(false),
        event_sequence: Set(3),
        history: Set(serde_json::json!([])),
        created_at: Set(now),
        started_at: Set(Some(now)),
        finished_at: Set(Some(now)),
    }
    .insert(db)
    .await
    .unwrap();

    let layout = |rank: i32| layouts::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        job_id: Set(job.id),
        site_id: Set(site.id),
        rank: Set(rank),
        requested_count: Set(3),
        placed_count: Set(3),
        metrics: Set(json!({"violations": 0})),
        cost: Set(json!({"total": 1})),
        earthwork: Set(json!(null)),
        layout: Set(json!({"assets": []})),
        geojson: Set(json!({"type": "FeatureCollection", "features": []})),
        edited_from_id: Set(None),
        created_at: Set(now),
    };
    let layout0 = layout(0).insert(db).await.unwrap();
    // (job_id, rank) is unique, so storing the same result twice fails.
    let err = layout(0).insert(db).await.unwrap_err().to_string();
    assert!(err.to_lowercase().contains("unique"), "{err}");
    // A saved edit keeps its origin's job and rank: the key holds only among the
    // layouts the job produced.
    let mut edit = layout(0);
    edit.edited_from_id = Set(Some(layout0.id));
    edit.insert(db).await.unwrap();

    let building = buildings::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        layout_id: Set(layout0.id),
        asset_id: Set("b-1".into()),
        name: Set("Barn".into()),
        asset_type: Set("building".into()),
        width_m: Set(18.288),
        length_m: Set(24.384),
        rotation_deg: Set(15.0),
        wkb: Set(wkb_polygon(&square(-104.797, 39.503, 0.0002))),
        min_x: Set(-104.797),
        min_y: Set(39.503),
        max_x: Set(-104.7968),
        max_y: Set(39.5032),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();

    // Read back.
    let org_back = organizations::Entity::find_by_id(org.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org_back, org);
    let site_back = sites::Entity::find_by_id(site.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(site_back, site);
    assert_eq!(site_back.boundary_wkb, boundary);
    // Timestamps survive with at least microsecond precision.
    assert!(
        (site_back.created_at - now)
            .num_microseconds()
            .unwrap()
            .abs()
            <= 1
    );
    let projects_of_org = org.find_related(projects::Entity).all(db).await.unwrap();
    assert_eq!(projects_of_org, vec![project.clone()]);
    let sites_of_project = project.find_related(sites::Entity).all(db).await.unwrap();
    assert_eq!(sites_of_project, vec![site.clone()]);
    let job_back = jobs::Entity::find_by_id(job.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job_back, job);
    let buildings_of_layout = layout0
        .find_related(buildings::Entity)
        .all(db)
        .await
        .unwrap();
    assert_eq!(buildings_of_layout, vec![building.clone()]);

    // Foreign keys are enforced.
    let orphan = projects::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(Uuid::new_v4()),
        name: Set("orphan".into()),
        description: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let err = orphan.insert(db).await.unwrap_err().to_string();
    assert!(
        err.to_lowercase().contains("foreign key"),
        "a project with an unknown organization must be rejected: {err}"
    );

    Inserted {
        org,
        site,
        building,
    }
}

/// Deleting the organization cascades to everything below it.
async fn assert_cascade(db: &DatabaseConnection, inserted: Inserted) {
    let Inserted {
        org,
        site,
        building,
    } = inserted;
    organizations::Entity::delete_by_id(org.id)
        .exec(db)
        .await
        .unwrap();
    assert!(
        sites::Entity::find_by_id(site.id)
            .one(db)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        buildings::Entity::find_by_id(building.id)
            .one(db)
            .await
            .unwrap()
            .is_none()
    );
    assert!(jobs::Entity::find().all(db).await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_round_trip_and_entities() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("entmoot.db").display()
    );
    let db = Database::connect(&url).await.unwrap();

    let fk = query_one(&db, "PRAGMA foreign_keys", vec![]).await;
    assert_eq!(
        fk.try_get_by_index::<i32>(0).unwrap(),
        1,
        "foreign_keys must be on"
    );

    round_trip(&db).await;

    // The bbox index exists on SQLite.
    let idx = query_one(
        &db,
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND name IN \
         ('sites_bbox', 'exclusion_zones_bbox', 'buildings_bbox')",
        vec![],
    )
    .await;
    assert_eq!(idx.try_get::<i32>("", "n").unwrap(), 3);

    let inserted = insert_chain(&db).await;
    assert_cascade(&db, inserted).await;

    // Down again with data present, then up: still clean.
    insert_chain(&db).await;
    Migrator::down(&db, None).await.unwrap();
    assert!(existing_app_tables(&db).await.is_empty());
    Migrator::up(&db, None).await.unwrap();
    assert_all_applied(&db).await;
    db.close().await.unwrap();
}

async fn postgres_checks(url: String) {
    let db = Database::connect(&url).await.unwrap();
    round_trip(&db).await;

    // buildings.geom is a PostGIS Polygon column in SRID 4326 with a GIST index.
    let col = query_one(
        &db,
        "SELECT udt_name::text AS udt, is_generated::text AS generated FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = 'buildings' AND column_name = 'geom'",
        vec![],
    )
    .await;
    assert_eq!(col.try_get::<String>("", "udt").unwrap(), "geometry");
    assert_eq!(col.try_get::<String>("", "generated").unwrap(), "ALWAYS");
    for (table, ty) in [
        ("buildings", "POLYGON"),
        ("sites", "MULTIPOLYGON"),
        ("exclusion_zones", "GEOMETRY"),
    ] {
        let gc = query_one(
            &db,
            "SELECT type::text AS ty, srid FROM geometry_columns \
             WHERE f_table_name = $1 AND f_geometry_column = 'geom'",
            vec![table.into()],
        )
        .await;
        assert_eq!(gc.try_get::<String>("", "ty").unwrap(), ty, "{table}");
        assert_eq!(gc.try_get::<i32>("", "srid").unwrap(), 4326, "{table}");
        let ix = query_one(
            &db,
            "SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexname = $2",
            vec![table.into(), format!("{table}_geom_gist").into()],
        )
        .await;
        let def: String = ix.try_get("", "indexdef").unwrap();
        assert!(def.contains("USING gist (geom)"), "{def}");
    }

    let inserted = insert_chain(&db).await;

    let b = query_one(
        &db,
        "SELECT ST_Area(geom) AS area, ST_IsValid(geom) AS valid, ST_SRID(geom) AS srid \
         FROM buildings WHERE id = $1",
        vec![inserted.building.id.into()],
    )
    .await;
    assert!(b.try_get::<f64>("", "area").unwrap() > 0.0);
    assert!(b.try_get::<bool>("", "valid").unwrap());
    assert_eq!(b.try_get::<i32>("", "srid").unwrap(), 4326);

    let s = query_one(
        &db,
        "SELECT ST_GeometryType(geom) AS ty, ST_Area(geom::geography) AS m2 FROM sites WHERE id = $1",
        vec![inserted.site.id.into()],
    )
    .await;
    assert_eq!(s.try_get::<String>("", "ty").unwrap(), "ST_MultiPolygon");
    assert!(s.try_get::<f64>("", "m2").unwrap() > 900_000.0);

    // Spatial query through the GIST-indexed column.
    let hit = query_one(
        &db,
        "SELECT count(*) AS n FROM buildings WHERE ST_Intersects(geom, ST_MakeEnvelope($1, $2, $3, $4, 4326))",
        vec![(-104.8f64).into(), 39.5f64.into(), (-104.79f64).into(), 39.51f64.into()],
    )
    .await;
    assert_eq!(hit.try_get::<i64>("", "n").unwrap(), 1);

    // A non-polygon footprint is rejected by the typed generated column.
    let mut bad = buildings::ActiveModel::from(inserted.building.clone()).reset_all();
    bad.id = Set(Uuid::now_v7());
    bad.wkb = Set(wkb_point(-104.797, 39.503));
    let err = bad.insert(&db).await.unwrap_err().to_string();
    assert!(err.contains("does not match column type"), "{err}");

    assert_cascade(&db, inserted).await;

    // Down with data present, then up again.
    insert_chain(&db).await;
    Migrator::down(&db, None).await.unwrap();
    assert!(existing_app_tables(&db).await.is_empty());
    Migrator::up(&db, None).await.unwrap();
    assert_all_applied(&db).await;
    db.close().await.unwrap();
}

#[tokio::test]
async fn postgres_round_trip_postgis_and_entities() {
    let admin = std::env::var("ENTMOOT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let url = create_fresh_postgres_database(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be reachable for this test: {e}"));
    let name = database_name_from_url(&url).unwrap();
    assert!(name.starts_with("entmoot_test_"));

    let outcome = tokio::spawn(postgres_checks(url)).await;
    // Set ENTMOOT_TEST_KEEP_DB=1 to keep the database for inspection.
    if std::env::var_os("ENTMOOT_TEST_KEEP_DB").is_some() {
        eprintln!("kept database {name}");
    } else {
        drop_database(&admin, &name).await.unwrap();
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
