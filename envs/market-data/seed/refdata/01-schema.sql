-- Reference data: trading venues and the instruments listed on them. The
-- enricher service reads these (and caches them in Redis); instruments are
-- loaded from instruments.csv with COPY.
CREATE TABLE venues (
    mic      text PRIMARY KEY,     -- ISO 10383 market identifier code
    name     text NOT NULL,
    timezone text NOT NULL
);

CREATE TABLE instruments (
    symbol    text PRIMARY KEY,
    name      text NOT NULL,
    venue     text NOT NULL REFERENCES venues (mic),
    currency  char(3) NOT NULL,
    tick_size numeric(10, 4) NOT NULL,
    lot_size  integer NOT NULL DEFAULT 1
);

INSERT INTO venues (mic, name, timezone) VALUES
    ('XNAS', 'Nasdaq',                 'America/New_York'),
    ('XETR', 'Xetra',                  'Europe/Berlin'),
    ('XLON', 'London Stock Exchange',  'Europe/London'),
    ('XAMS', 'Euronext Amsterdam',     'Europe/Amsterdam'),
    ('XTKS', 'Tokyo Stock Exchange',   'Asia/Tokyo');
