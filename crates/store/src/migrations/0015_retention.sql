-- Schema 15: a circle's retention, as its admins set it: a case received in the circle is erased
-- once this many days have passed since it arrived. NULL: kept for ever.
ALTER TABLE circles ADD COLUMN retention_days INTEGER;
