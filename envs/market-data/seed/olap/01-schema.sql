-- Normalized ticks, one row per trade. `source` tells the seeded history
-- ('history', from history.csv) from what the normalizer writes ('live').
-- (Second precision plus a millisecond column keeps this portable to old
-- ClickHouse releases; new ones would use DateTime64(3).)
CREATE TABLE IF NOT EXISTS ticks (
    symbol    String,
    venue     String,
    ts        DateTime,
    ms        UInt16,
    price     Float64,
    currency  String,
    price_usd Float64,
    qty       UInt32,
    source    String
) ENGINE = MergeTree ORDER BY (symbol, ts, ms);
