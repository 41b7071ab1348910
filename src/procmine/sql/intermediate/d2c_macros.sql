-- Macros the Detect-to-Correct links and marts use (temp: per connection; mine/d2c.py).

-- The seconds from `earlier` to `later` (TIMESTAMPTZ): the value of epoch(later - earlier) in
-- the store's UTC session, bit for bit (the same days-and-microseconds interval), computed on
-- plain timestamps: a TIMESTAMPTZ difference goes through ICU's calendar per value (~1 us).
CREATE OR REPLACE TEMP MACRO pm_seconds(later, earlier) AS
    epoch(make_timestamp(epoch_us(later)) - make_timestamp(epoch_us(earlier)));
