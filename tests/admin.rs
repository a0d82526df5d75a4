//! The admin helpers against a real influxd, with hostile names.

mod support;

use futures::StreamExt;
use influx_stream::{Client, FieldType, Point, Privilege, RetentionPolicySpec};
use support::influxd::{unique_db, Influxd};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn databases_with_hostile_names() -> TestResult {
    let server = Influxd::shared();
    let client = Client::builder(server.url()).build()?;
    let victim = unique_db("victim");
    client.create_database(&victim).await?;
    let names = [
        format!("my\"db {}", unique_db("q")),
        format!("a b,c=d {}", unique_db("s")),
        format!("x\"; DROP DATABASE \"{victim}"),
        format!("it's {}", unique_db("b")),
    ];
    // InfluxDB refuses names with a slash or backslash: a clear error.
    let err = client
        .create_database("back\\slash")
        .await
        .expect_err("invalid");
    assert!(
        err.to_string().contains("invalid name") && err.to_string().contains("backslash"),
        "{err}"
    );
    // Nor a newline (the quoting sends it escaped, as `\n`).
    let err = client
        .create_database("new\nline")
        .await
        .expect_err("invalid");
    assert!(err.to_string().contains("invalid name"), "{err}");
    for n in &names {
        client.create_database(n).await?;
    }
    let dbs = client.show_databases().await?;
    for n in &names {
        assert!(dbs.contains(n), "{n:?} not in {dbs:?}");
    }
    assert!(dbs.contains(&victim), "injection dropped {victim}");
    for n in &names {
        client.drop_database(n).await?;
    }
    let dbs = client.show_databases().await?;
    assert!(names.iter().all(|n| !dbs.contains(n)));
    assert!(dbs.contains(&victim));
    Ok(())
}

#[tokio::test]
async fn retention_policies() -> TestResult {
    let server = Influxd::shared();
    let db = unique_db("rp");
    let client = Client::builder(server.url()).database(&db).build()?;
    client.create_database(&db).await?;
    client
        .create_retention_policy(
            &db,
            &RetentionPolicySpec::new("one week", "7d").shard_duration("1d"),
        )
        .await?;
    let rps = client.show_retention_policies(&db).await?;
    let week = rps.iter().find(|r| r.name == "one week").ok_or("missing")?;
    assert_eq!(
        (
            week.duration.as_str(),
            week.shard_group_duration.as_str(),
            week.replication,
            week.default
        ),
        ("168h0m0s", "24h0m0s", 1, false)
    );
    assert!(rps
        .iter()
        .any(|r| r.name == "autogen" && r.default && r.duration == "0s"));
    client
        .alter_retention_policy(
            &db,
            &RetentionPolicySpec::new("one week", "14d").default(true),
        )
        .await?;
    let rps = client.show_retention_policies(&db).await?;
    let week = rps.iter().find(|r| r.name == "one week").ok_or("missing")?;
    assert_eq!((week.duration.as_str(), week.default), ("336h0m0s", true));
    client.drop_retention_policy(&db, "one week").await?;
    let rps = client.show_retention_policies(&db).await?;
    assert_eq!(
        rps.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["autogen"]
    );
    let bad = client
        .create_retention_policy(&db, &RetentionPolicySpec::new("x", "1d; DROP DATABASE y"))
        .await;
    assert!(bad.is_err_and(|e| e.is_builder()));
    Ok(())
}

#[tokio::test]
async fn measurements_series_tags_and_fields() -> TestResult {
    let server = Influxd::shared();
    let db = unique_db("schema");
    let client = Client::builder(server.url()).database(&db).build()?;
    client.create_database(&db).await?;
    let points = [
        Point::new("cpu")
            .tag("host", "a")
            .tag("dc", "eu")
            .field("usage", 0.5)
            .field("n", 1i64)
            .timestamp(1),
        Point::new("cpu")
            .tag("host", "b")
            .tag("dc", "us")
            .field("usage", 0.7)
            .field("n", 2i64)
            .timestamp(2),
        Point::new("odd \"m\"")
            .tag("k e y", "v,1")
            .field("s", "text")
            .field("ok", true)
            .timestamp(3),
    ];
    client.write(&points[..]).await?;

    assert_eq!(client.show_measurements().await?, ["cpu", "odd \"m\""]);
    assert_eq!(
        client.show_series(Some("cpu")).await?,
        ["cpu,dc=eu,host=a", "cpu,dc=us,host=b"]
    );
    let keys = client.show_tag_keys(None).await?;
    assert_eq!(keys["cpu"], ["dc", "host"]);
    assert_eq!(keys["odd \"m\""], ["k e y"]);
    let values = client.show_tag_values(Some("cpu"), "host").await?;
    assert_eq!(values["cpu"], ["a", "b"]);
    let values = client.show_tag_values(Some("odd \"m\""), "k e y").await?;
    assert_eq!(values["odd \"m\""], ["v,1"]);
    let fields = client.show_field_keys(None).await?;
    assert_eq!(
        fields["cpu"],
        [
            ("n".to_owned(), FieldType::Integer),
            ("usage".to_owned(), FieldType::Float)
        ]
    );
    assert_eq!(
        fields["odd \"m\""],
        [
            ("ok".to_owned(), FieldType::Boolean),
            ("s".to_owned(), FieldType::String)
        ]
    );

    client.delete("cpu", &[("host", "a")]).await?;
    let left = client.query_json("SELECT count(usage) FROM cpu").await?;
    assert_eq!(left["results"][0]["series"][0]["values"][0][1], 1);
    client.drop_series("cpu", &[("host", "b")]).await?;
    assert!(client
        .show_series(Some("cpu"))
        .await?
        .iter()
        .all(|s| !s.contains("host=b")));
    client.drop_measurement("odd \"m\"").await?;
    assert!(!client
        .show_measurements()
        .await?
        .contains(&"odd \"m\"".to_owned()));

    let no_db = Client::builder(server.url()).build()?;
    assert!(no_db
        .show_measurements()
        .await
        .is_err_and(|e| e.is_builder()));
    Ok(())
}

#[tokio::test]
async fn listings_are_not_cut_by_max_row_limit() -> TestResult {
    let server = Influxd::start_with(&[("INFLUXDB_HTTP_MAX_ROW_LIMIT", "4")])?;
    let client = Client::builder(server.url()).database("limits").build()?;
    client.create_database("limits").await?;
    let points: Vec<Point> = (0..10)
        .map(|i| {
            Point::new("m")
                .tag("host", format!("h{i}"))
                .field("v", 1i64)
                .timestamp(i)
        })
        .collect();
    client.write(&points[..]).await?;
    assert_eq!(
        client.show_tag_values(Some("m"), "host").await?["m"].len(),
        10
    );
    assert_eq!(client.show_series(None).await?.len(), 10);
    Ok(())
}

#[tokio::test]
async fn users_and_grants() -> TestResult {
    let server = Influxd::start_with(&[("INFLUXDB_HTTP_AUTH_ENABLED", "true")])?;
    let anon = Client::builder(server.url()).build()?;
    anon.create_user("admin", "adm'in pw", true).await?;
    let admin = Client::builder(server.url())
        .basic_auth("admin", "adm'in pw")
        .build()?;
    admin.create_database("secure").await?;
    admin.create_user("reader", "r\"ead\\er", false).await?;
    admin.grant(Privilege::Read, "secure", "reader").await?;
    let users = admin.show_users().await?;
    assert_eq!(users.len(), 2);
    assert!(users.iter().any(|u| u.name == "admin" && u.admin));
    assert!(users.iter().any(|u| u.name == "reader" && !u.admin));

    let reader = Client::builder(server.url())
        .basic_auth("reader", "r\"ead\\er")
        .database("secure")
        .build()?;
    reader.query_json("SELECT * FROM m").await?;
    let err = reader.write("m v=1").await.expect_err("read-only user");
    assert!(err.is_auth(), "{err}");
    let err = reader
        .create_database("other")
        .await
        .expect_err("not admin");
    assert!(err.is_auth(), "{err}");
    let err = reader
        .create_user("x", "super-secret-pw", false)
        .await
        .expect_err("not admin");
    assert!(
        !format!("{err} {err:?}").contains("super-secret-pw"),
        "{err}"
    );

    admin.revoke(Privilege::Read, "secure", "reader").await?;
    assert!(reader
        .query_json("SELECT * FROM m")
        .await
        .is_err_and(|e| e.is_auth()));
    // A streamed query gets the refusal as its one item, and so does one
    // without credentials.
    for client in [&reader, &anon.with_database("secure")] {
        let items: Vec<_> = client.query("SELECT * FROM m").collect().await;
        assert_eq!(items.len(), 1, "{items:?}");
        assert!(items[0].as_ref().is_err_and(|e| e.is_auth()), "{items:?}");
    }
    admin.drop_user("reader").await?;
    assert_eq!(admin.show_users().await?.len(), 1);
    Ok(())
}
