//! The example's test suite: every test starts from the seeded shop, because
//! `Running::reset()` runs before it. Kept true by tests/it/reset.rs, which
//! runs `suite` against this directory's devenv.yaml.
//!
//! In a project of your own this is a `tests/*.rs` file: one environment
//! (`Environment::load(...).project(unique)?.up()`) for the whole suite, and
//! `reset()` where each test begins — far cheaper than an environment per test.

use std::path::Path;
use std::time::{Duration, Instant};

use devenv::api::{Environment, Running};
use tokio_postgres::{Client, NoTls};

/// What the seeds hold: 200 products, 798 items in stock, no orders.
pub const SEEDED: (i64, i64, i64) = (200, 798, 0);

async fn client(env: &Running) -> Client {
    let url = env.url("db").expect("db is a preset");
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect to db");
    tokio::spawn(connection);
    client
}

/// (products, items in stock, orders)
async fn state(c: &Client) -> (i64, i64, i64) {
    let row = c
        .query_one("SELECT (SELECT count(*) FROM products), (SELECT sum(stock)::bigint FROM products), (SELECT count(*) FROM orders)", &[])
        .await
        .expect("query");
    (row.get(0), row.get(1), row.get(2))
}

/// A test: an order takes one item out of stock.
async fn an_order_takes_stock(c: &Client) {
    c.batch_execute("INSERT INTO orders (product_id, quantity) VALUES (1, 1); UPDATE products SET stock = stock - 1 WHERE id = 1").await.expect("order");
    assert_eq!(state(c).await, (200, 797, 1));
}

/// A test: a product with orders cannot be deleted; one without can.
async fn products_with_orders_stay(c: &Client) {
    c.batch_execute("INSERT INTO orders (product_id, quantity) VALUES (2, 1)").await.expect("order");
    assert!(c.batch_execute("DELETE FROM products WHERE id = 2").await.is_err());
    c.batch_execute("DELETE FROM products WHERE id = 3").await.expect("delete");
    assert_eq!(state(c).await.0, 199);
}

/// A test that wrecks the data: the next one must not notice.
async fn clearing_out_everything(c: &Client) {
    c.batch_execute("TRUNCATE orders, products; DROP TABLE orders").await.expect("truncate");
    assert_eq!(c.query_one("SELECT count(*) FROM products", &[]).await.expect("count").get::<_, i64>(0), 0);
}

/// Up once, then each test after a `reset()`; returns how long each reset took.
pub async fn suite(file: &Path, project: &str, image_map: &Path) -> Vec<Duration> {
    let env = Environment::load(file).and_then(|e| e.project(project)).and_then(|e| e.image_map_file(image_map)).expect("load");
    let mut running = env.up().await.expect("up");
    let mut resets = Vec::new();
    for test in 0..6 {
        let t0 = Instant::now();
        running.reset().await.expect("reset");
        resets.push(t0.elapsed());
        let c = client(&running).await;
        assert_eq!(state(&c).await, SEEDED, "test {test} starts from the seeded shop");
        match test % 3 {
            0 => an_order_takes_stock(&c).await,
            1 => products_with_orders_stay(&c).await,
            _ => clearing_out_everything(&c).await,
        }
    }
    running.down().await.expect("down");
    resets
}
