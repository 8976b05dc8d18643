-- The de-identification report of a case, kept on this laptop only.

-- Every finding the text scan showed the author (at a refusal, a scan or an acknowledgement), so
-- the report can say of each whether it was edited out or acknowledged.
CREATE TABLE case_findings_seen (
    case_id     BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    matched     TEXT NOT NULL,
    first_seen  INTEGER NOT NULL,
    PRIMARY KEY (case_id, field, kind, matched)
);

-- The report as it stood when the case went to a circle (CBOR, written by the engine).
CREATE TABLE case_deid_reports (
    case_id    BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    circle_id  BLOB NOT NULL,
    made_at    INTEGER NOT NULL,
    report     BLOB NOT NULL
);
CREATE INDEX case_deid_reports_by_case ON case_deid_reports (case_id, made_at);
